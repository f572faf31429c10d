//go:build unix

package main

import "syscall"

// restrictUmask sets the process umask to 077 (see perms.go).
func restrictUmask() { syscall.Umask(0o077) }
