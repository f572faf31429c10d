// Command attesta is Attesta's command-line client: it makes keys, shows
// their packed public form and id, connects to a server, manages login
// identifiers and the password-sealed registry, logs in with a password
// on a device that has no key, drives load against a server, and runs a
// demo of the whole story against a server it starts in-process.
//
//	attesta keygen [-type ALG] -out FILE
//	attesta pubkey [-json] -in FILE
//	attesta connect [-server URL] (-app-token-file F | -app-token T) -key FILE [-instance]
//	attesta identifier add|confirm|remove [-server URL] (-session-file F | -session S) -kind KIND -value V [-code C]
//	attesta registry push [-server URL] (-session-file F | -session S) -key FILE [-password-file F]
//	attesta registry pull [-server URL] -login NAME [-password-file F | -header]
//	attesta login [-server URL] (-app-token-file F | -app-token T) -login NAME [-password-file F] -out FILE
//	attesta instance token [-server URL] (-session-file F | -session S)
//	attesta service-key get [-server URL] (-session-file F | -session S) -provider NAME -key FILE [-out FILE]
//	attesta keypool -type ALG -n N -out FILE
//	attesta load -server URL (-app-token-file F | -app-token T) [-clients N] [-duration D] [-keys ALG] [-new-fraction F] [-acked FILE] [-pool FILE] [-json]
//	attesta demo [-v]
//	attesta version
//	attesta help [COMMAND [SUBCOMMAND]]
//
// Every message on stderr starts with "attesta: ". The exit status is 0 on
// success, 1 when the command failed (the server refused, a file did not
// hold what it should, the network failed) and 2 for a usage error (a flag
// missing or malformed, an unknown command).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/attesta-go/attesta/kdf"
)

// command is one subcommand: its name, a one-line summary, the usage text
// shown by "attesta help NAME" and -h, and setup, which defines the
// command's flags on fs and returns its body, run once the flags are
// parsed.
//
// A group ("attesta registry push|pull") has sub instead of usage and
// setup: its first argument names one of sub, which runs as above. Each of
// sub names its group in group.
type command struct {
	name, summary, usage string
	setup                func(fs *flag.FlagSet) func(ctx context.Context, e *env) int
	sub                  []*command
	group                string
}

// path is the command's name as typed after "attesta": "registry push".
func (c *command) path() string {
	if c.group != "" {
		return c.group + " " + c.name
	}
	return c.name
}

// env is what a command may touch, so that tests run commands in-process.
type env struct {
	// stdin is where passwords come from when no -password-file is given:
	// a terminal (read without echo) or a pipe (one line). Nil (the tests'
	// default) has no password to give.
	stdin          io.Reader
	stdout, stderr io.Writer

	// cmd is the path of the command that runs ("registry push"), which
	// usage errors point to the help of.
	cmd string

	// Test hooks, nil outside tests; no flag or variable reaches them.
	//
	// beforePut runs in "registry push" after the registry is read and
	// sealed and before it is put (attempt 0, 1, …), so that a test can
	// make a concurrent push win the race. sealKDF replaces push's KDF
	// parameters (-kdf), so that a test that is not about the KDF can
	// seal with cheap ones (against a server whose floors allow them).
	beforePut func(attempt int)
	sealKDF   func() kdf.Params
}

// errorf prints "attesta: MESSAGE" on stderr and returns 1, the exit
// status of a failure.
func (e *env) errorf(format string, args ...any) int {
	fmt.Fprintln(e.stderr, "attesta: "+message(format, args...))
	return 1
}

// usagef prints "attesta: MESSAGE (attesta help COMMAND)" on stderr and
// returns 2, the exit status of a usage error.
func (e *env) usagef(format string, args ...any) int {
	msg := message(format, args...)
	if e.cmd != "" {
		msg += " (attesta help " + e.cmd + ")"
	}
	fmt.Fprintln(e.stderr, "attesta: "+msg)
	return 2
}

// usageError is a mistake in the command line, reported by fail as a
// usage error.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// fail reports err: a usageError with usagef (exit status 2), anything
// else with errorf (1).
func (e *env) fail(err error) int {
	if errors.As(err, new(usageError)) {
		return e.usagef("%v", err)
	}
	return e.errorf("%v", err)
}

// message formats a message for errorf and usagef, dropping the
// "attesta: " that errors of package attesta begin with, so that the
// prefix appears once.
func message(format string, args ...any) string {
	msg := strings.TrimPrefix(fmt.Sprintf(format, args...), "attesta: ")
	return strings.ReplaceAll(msg, ": attesta: ", ": ")
}

// flagSet returns c's flag set, printing on w, and c's body.
func (c *command) flagSet(w io.Writer) (*flag.FlagSet, func(context.Context, *env) int) {
	if c.sub != nil {
		return c.groupFlagSet(w), nil
	}
	fs := flag.NewFlagSet("attesta "+c.path(), flag.ContinueOnError)
	fs.SetOutput(w)
	body := c.setup(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), c.usage)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs, body
}

// exec parses args (flags only, no positional arguments) and runs c; a
// group runs the subcommand args[0] names.
func (c *command) exec(ctx context.Context, e *env, args []string) int {
	if c.sub != nil {
		return c.execGroup(ctx, e, args)
	}
	e.cmd = c.path()
	// The flag package's own messages are kept quiet, so that a bad flag
	// is reported like any other usage error; -h prints the usage.
	fs, body := c.flagSet(io.Discard)
	usage := fs.Usage
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stderr)
			usage()
			return 0
		}
		return e.usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return e.usagef("unexpected argument %q", fs.Arg(0))
	}
	return body(ctx, e)
}

// commands are the subcommands, in the order help lists them.
var commands = []*command{keygenCmd, pubkeyCmd, connectCmd, identifierCmd, registryCmd, loginCmd, instanceCmd, serviceKeyCmd, demoCmd, keypoolCmd, loadCmd, versionCmd}

const mainUsage = `Attesta: key-based accounts. A party owns an account because it holds a
private key; the server knows only the public key.

Usage:
  attesta COMMAND [flags]

Commands:
%s  help       show help for a command: attesta help COMMAND [SUBCOMMAND]

Start with "attesta demo": it runs the whole flow against an in-process
server and exits non-zero if any step misbehaves.
`

func printMainUsage(w io.Writer) {
	var list string
	for _, c := range commands {
		list += fmt.Sprintf("  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, list)
}

func lookup(list []*command, name string) *command {
	for _, c := range list {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
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
			c := lookup(commands, args[1])
			if c == nil {
				return e.usagef("no command %q (attesta help lists them)", args[1])
			}
			if len(args) > 2 && c.sub != nil {
				s := lookup(c.sub, args[2])
				if s == nil {
					return e.usagef("no command %q (attesta help %s lists them)", args[1]+" "+args[2], args[1])
				}
				c = s
			}
			fs, _ := c.flagSet(e.stdout)
			fs.Usage()
			return 0
		}
		printMainUsage(e.stdout)
		return 0
	default:
		c := lookup(commands, name)
		if c == nil {
			e.usagef("unknown command %q", name)
			fmt.Fprintln(e.stderr)
			printMainUsage(e.stderr)
			return 2
		}
		return c.exec(ctx, e, args[1:])
	}
}

// groupFlagSet is a group's flag set: it has no flags, only the usage
// that lists the subcommands.
func (c *command) groupFlagSet(w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("attesta "+c.name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		names := make([]string, len(c.sub))
		for i, s := range c.sub {
			names[i] = s.name
		}
		fmt.Fprintf(fs.Output(), "Usage: attesta %s %s [flags]\n\n%s%s.\n\nCommands:\n",
			c.name, strings.Join(names, "|"), strings.ToUpper(c.summary[:1]), c.summary[1:])
		for _, s := range c.sub {
			fmt.Fprintf(fs.Output(), "  %-8s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(fs.Output(), "\nattesta help %s COMMAND tells more.\n", c.name)
	}
	return fs
}

// execGroup runs the subcommand args[0] names with the rest of args.
func (c *command) execGroup(ctx context.Context, e *env, args []string) int {
	fs := c.groupFlagSet(e.stderr)
	if len(args) == 0 {
		fs.Usage()
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fs.Usage()
		return 0
	}
	s := lookup(c.sub, args[0])
	if s == nil {
		e.usagef("unknown command %q", c.name+" "+args[0])
		fmt.Fprintln(e.stderr)
		fs.Usage()
		return 2
	}
	return s.exec(ctx, e, args[1:])
}
