// Command tessera is Tessera's one binary: ingest rasters into PostGIS, serve them as tiles,
// and the small tools formula and legend authors use (eval, colorize).
//
// Each subcommand lives in its own file as a function with the signature of command.run;
// main only dispatches.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand: run gets the arguments after the subcommand's name and the
// process's standard streams, and returns the exit code.
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"eval":     {"evaluate a formula on JSON input (for formula authors)", runEval},
		"colorize": {"colour a grid of values with a colormap (for legend authors)", runColorize},
		"migrate":  {"apply the database migrations (up, status, down)", runMigrate},
		"ingest":   {"ingest a raster (file, URL, s3://, .zip, .gz) into a tile pyramid", runIngest},
		"delete":   {"delete layers with their tiles", runDelete},
		"key":      {"make, list and revoke API keys (read-only or read-write tokens)", runKey},
		"worker":   {"run ingest tasks from Redis (asynq) for parses started elsewhere", runWorker},
		"gendata":  {"generate Tessera's sample rasters (and the benchmark raster)", runGendata},
		"serve":    {"serve tiles over HTTP (tiles, algebra, pixel, legend, export, TileJSON, catalog)", runServe},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tessera: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	return c.run(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: tessera COMMAND [options]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// parseFlags parses args with fs, whose output is the command's stderr and whose Usage prints
// the command's usage. ok is false when the command ends here, with code: 0 after -h or
// --help, which print usage; 2 after a bad flag, which prints flag's message and a line
// pointing at --help, not the whole usage: under it the message scrolled away (tessera
// ingest --srid x printed 40 lines of options after it).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		usage()
		return 0, false
	}
	fmt.Fprintf(out, "tessera %s: %v\n(tessera %s --help lists the options)\n", fs.Name(), err, fs.Name())
	return 2, false
}

// parseInterspersed is parseFlags for a command whose flags may also follow its arguments
// (tessera ingest PATH --json, tessera key create NAME --read): flag stops at the first
// argument that is not a flag, so it parses again after each one; after --, every argument
// is one (tessera ingest -- -odd.tif --json names two paths, an error). pos are the arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if code, ok := parseFlags(fs, args); !ok {
			return nil, code, false
		}
		rest := fs.Args()
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" && !flagValue(fs, args[:used-1]) {
			return append(pos, rest...), 0, true // all after -- are arguments
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagValue reports whether the argument after before is the value of before's last one, a
// flag that takes a value (--queue -- names the queue "--", which ends no flags).
func flagValue(fs *flag.FlagSet, before []string) bool {
	if len(before) == 0 {
		return false
	}
	a := before[len(before)-1]
	name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if name == a || name == "" || strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, isBool := f.Value.(interface{ IsBoolFlag() bool })
	return !isBool || !b.IsBoolFlag()
}
