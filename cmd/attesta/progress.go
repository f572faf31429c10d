package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// withProgress runs f, showing on w that it runs: on a terminal a spinner
// with the elapsed time, redrawn in place and erased at the end; anywhere
// else (a pipe, a file, a test) one line with msg. It returns early with
// ctx's error if ctx is done first (f's goroutine is then abandoned: the
// command is about to exit).
func withProgress[T any](ctx context.Context, w io.Writer, msg string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	tty := isTerminal(w)
	if !tty {
		fmt.Fprintln(w, msg)
	}
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	frames := []rune(`⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏`)
	for i := 0; ; i++ {
		if tty {
			fmt.Fprintf(w, "\r%c %s %.1fs", frames[i%len(frames)], msg, time.Since(start).Seconds())
		}
		select {
		case r := <-done:
			if tty {
				fmt.Fprint(w, "\r\033[K") // erase the spinner line
			}
			return r.v, r.err
		case <-ctx.Done():
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			var zero T
			return zero, ctx.Err()
		case <-tick.C:
		}
	}
}

// isTerminal reports whether w is a terminal, as the kernel sees it, so
// that escape codes stay out of pipes, files and logs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
