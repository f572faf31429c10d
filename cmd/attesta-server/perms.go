package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files the server makes are its own: the data directory is 0700 and every
// file in it 0600 (issue 14, finding 10: Pebble made its files 0644, and
// an outbox.jsonl created beforehand kept 0644, live codes readable by
// every user of the machine).
//
// Two mechanisms, each for one case:
//   - restrictUmask, at start, makes every file this process creates
//     (Pebble's tables and logs, the outbox, the socket) private whatever
//     the mode its creator asks for;
//   - repairDataDir, before the store opens, takes group and other
//     permissions away from the directory and from what is in it, and says
//     so, since a mode that let others in was not what anyone meant. The
//     server secret is the exception, checked in secret.go: one that others
//     could read is refused, not repaired, because chmod cannot take back
//     a copy (readSecret). Verification codes an outbox exposed expire in
//     minutes; a Pebble file holds hashes, never a secret.

// repairDataDir removes group and other permissions from dir and from the
// files and directories in it (not following symlinks, not touching the
// secret, which secret.go checks), and returns what it changed, for the
// log. A missing dir is not an error.
func repairDataDir(dir string) (repaired []string, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // vanished (a Pebble compaction): nothing to repair
		} else if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 || path == filepath.Join(dir, secretFile) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(path, perm&^0o077); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("taking group and other permissions from %s: %w", path, err)
			}
			repaired = append(repaired, fmt.Sprintf("%s (was %04o)", path, perm))
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return repaired, err
}
