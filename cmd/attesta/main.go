// Command attesta is Attesta's command-line client: it makes keys, shows
// their packed public form and id, connects to a server, and runs a demo of
// the whole flow against a server it starts in-process.
//
//	attesta keygen [-type ALG] -out FILE
//	attesta pubkey [-json] -in FILE
//	attesta connect [-server URL] (-app-token-file F | -app-token T) -key FILE
//	attesta demo [-v]
//	attesta help [COMMAND]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: its name, a one-line summary, the usage text
// shown by "attesta help NAME" and -h, and setup, which defines the
// command's flags on fs and returns its body, run once the flags are
// parsed.
type command struct {
	name, summary, usage string
	setup                func(fs *flag.FlagSet) func(ctx context.Context, e *env) int
}

// env is what a command may touch, so that tests run commands in-process.
type env struct {
	stdout, stderr io.Writer
}

// errorf prints "attesta: ..." on stderr and returns exit status 1.
func (e *env) errorf(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "attesta: "+format+"\n", args...)
	return 1
}

// flagSet returns c's flag set, printing on w, and c's body.
func (c *command) flagSet(w io.Writer) (*flag.FlagSet, func(context.Context, *env) int) {
	fs := flag.NewFlagSet("attesta "+c.name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), c.usage)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	return fs, c.setup(fs)
}

// exec parses args (flags only, no positional arguments) and runs c.
func (c *command) exec(ctx context.Context, e *env, args []string) int {
	fs, body := c.flagSet(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "attesta %s: unexpected argument %q\n", c.name, fs.Arg(0))
		fs.Usage()
		return 2
	}
	return body(ctx, e)
}

// commands are the subcommands, in the order help lists them.
var commands = []*command{keygenCmd, pubkeyCmd, connectCmd, demoCmd}

const mainUsage = `Attesta: key-based accounts. A party owns an account because it holds a
private key; the server knows only the public key.

Usage:
  attesta COMMAND [flags]

Commands:
%s  help      show help for a command: attesta help COMMAND

Start with "attesta demo": it runs the whole flow against an in-process
server and exits non-zero if any step misbehaves.
`

func printMainUsage(w io.Writer) {
	var list string
	for _, c := range commands {
		list += fmt.Sprintf("  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, list)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to a command and returns the exit status: 0 success, 1
// failure, 2 bad usage.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printMainUsage(e.stderr)
		return 2
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := lookup(args[1])
			if c == nil {
				return e.errorf("no command %q (see attesta help)", args[1])
			}
			fs, _ := c.flagSet(e.stdout)
			fs.Usage()
			return 0
		}
		printMainUsage(e.stdout)
		return 0
	default:
		c := lookup(name)
		if c == nil {
			fmt.Fprintf(e.stderr, "attesta: unknown command %q\n\n", name)
			printMainUsage(e.stderr)
			return 2
		}
		return c.exec(ctx, e, args[1:])
	}
}
