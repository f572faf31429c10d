package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Passwords. A password is never echoed, printed or logged, and its
// buffer is cleared once the command is done with it (best effort: the
// runtime may have copied it).

// maxPasswordBytes bounds a password line, so that a password file that is
// not one (a key, an image) is refused rather than hashed.
const maxPasswordBytes = 1024

// passwordUsage is the paragraph of the usage texts on the password.
const passwordUsage = `The password comes from -password-file (its first line, without the
line ending), else from the terminal, typed without echo, else, when
stdin is not a terminal, from the first line of stdin, so that a script
can pipe it in: printf '%s\n' "$PW" | attesta …. It is never shown or
logged; an empty password is refused.
`

var (
	errEmptyPassword    = errors.New("empty password")
	errPasswordTooLong  = fmt.Errorf("password line longer than %d bytes", maxPasswordBytes)
	errPasswordMismatch = errors.New("the two passwords differ")
)

// readPassword returns the password: the first line of file if file is
// given; else, if stdin is a terminal, what is typed there without echo
// after prompt (twice, compared, with confirm); else the first line of
// stdin. The caller clears the result.
func readPassword(ctx context.Context, e *env, file, prompt string, confirm bool) ([]byte, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		pw, err := readLine(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return pw, nil
	}
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		pw, err := readTerminal(ctx, e.stderr, int(f.Fd()), prompt+": ")
		if err != nil || !confirm {
			return pw, err
		}
		again, err := readTerminal(ctx, e.stderr, int(f.Fd()), prompt+" (again): ")
		defer clear(again)
		if err != nil {
			clear(pw)
			return nil, err
		}
		if !bytes.Equal(pw, again) {
			clear(pw)
			return nil, errPasswordMismatch
		}
		return pw, nil
	}
	if e.stdin == nil {
		return nil, errors.New("no password: give -password-file FILE, or type it on a terminal, or pipe it on stdin")
	}
	pw, err := readLine(e.stdin)
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	return pw, nil
}

// readTerminal reads a line from the terminal fd without echo. The read
// cannot be interrupted, so on ctx's end (SIGINT) it restores the
// terminal and returns, leaving the read to die with the process.
func readTerminal(ctx context.Context, prompt io.Writer, fd int, text string) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(prompt, text)
	type result struct {
		pw  []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		pw, err := term.ReadPassword(fd)
		done <- result{pw, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(prompt) // the Enter that was not echoed
		if r.err != nil {
			return nil, r.err
		}
		if len(r.pw) == 0 {
			return nil, errEmptyPassword
		}
		if len(r.pw) > maxPasswordBytes {
			clear(r.pw)
			return nil, errPasswordTooLong
		}
		return r.pw, nil
	case <-ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(prompt)
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
}

// readLine reads up to the first '\n' (or the end), a byte at a time so
// that nothing past the line is consumed, and drops the line ending ("\n"
// or "\r\n"); nothing else is trimmed: spaces are part of a password.
func readLine(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, maxPasswordBytes+1) // never reallocated: no stray copies
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			if len(buf) == maxPasswordBytes+1 {
				clear(buf)
				return nil, errPasswordTooLong
			}
			buf = append(buf, b[0])
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			clear(buf)
			return nil, err
		}
	}
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	switch {
	case len(buf) == 0:
		return nil, errEmptyPassword
	case len(buf) > maxPasswordBytes:
		clear(buf)
		return nil, errPasswordTooLong
	}
	return buf, nil
}
