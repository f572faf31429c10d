//go:build !unix

package main

// restrictUmask does nothing where there is no umask; repairDataDir still
// runs (see perms.go).
func restrictUmask() {}
