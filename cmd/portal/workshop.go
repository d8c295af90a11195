package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"portal/authoring"
)

const workshopUsage = `Usage: portal workshop <command> [flags]

Commands for a workshop's author:
  new NAME [--dir DIR]  make a new workshop folder in the Hugo layout, in DIR (default ./NAME)
  serve [--open] DIR    run a portal with the workshop and a session of it for its author, whose
                        instructions show every change of DIR/workshop at once
  lint [--json] DIR     check a workshop folder: action blocks, variables, shortcodes, links,
                        images and resources/workshop.yaml; exit status 1 when there are errors
  test [--json] DIR     run the workshop in a portal of its own, headless, and click every page's
                        actions in order (terminal commands, examiner tests, editor and file
                        actions); exit status 1 when one fails
`

// quietExit is an error that only sets the program's exit status: what went wrong is
// printed already.
type quietExit int

func (e quietExit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// workshopCmd runs `portal workshop <command>`.
func workshopCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, workshopUsage)
		return errUsage
	}
	switch args[0] {
	case "new":
		return workshopNew(args[1:], stdout, stderr)
	case "serve":
		return workshopServe(ctx, args[1:], stdout, stderr)
	case "lint":
		return workshopLint(args[1:], stdout, stderr)
	case "test":
		return workshopTest(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, workshopUsage)
		return nil
	}
	fmt.Fprintf(stderr, "portal workshop: unknown command %q\n\n%s", args[0], workshopUsage)
	return errUsage
}

// oneArgument parses args with fs (see parseInterspersed) and returns its one argument;
// with none or more, or a flag it cannot read, errUsage (having printed the usage).
func oneArgument(fs *flag.FlagSet, args []string) (string, error) {
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return "", errUsage
	}
	if len(rest) != 1 {
		fs.Usage()
		return "", errUsage
	}
	return rest[0], nil
}

// parseInterspersed parses fs's flags wherever they are among args and returns the other
// arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func workshopNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workshop new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portal workshop new NAME [--dir DIR]")
		fs.PrintDefaults()
	}
	dir := fs.String("dir", "", "the folder to make the workshop in; it must be new or empty (default ./NAME)")
	name, err := oneArgument(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" {
		*dir = name
	}
	if err := authoring.New(*dir, name); err != nil {
		return fmt.Errorf("workshop new: %w", err)
	}
	fmt.Fprintf(stdout, "Made workshop %s in %s. Check it with:\n\n  portal workshop lint %s\n\nand see %s for how to run it.\n",
		name, *dir, *dir, filepath.Join(*dir, "README.md"))
	return nil
}

func workshopLint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workshop lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portal workshop lint [--json] DIR")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, `print {"findings": [{"file", "line", "level", "message"}…], "errors": N, "warnings": N}`)
	dir, err := oneArgument(fs, args)
	if err != nil {
		return err
	}
	findings, err := authoring.Lint(dir)
	if err != nil {
		return fmt.Errorf("workshop lint: %w", err)
	}
	errs := authoring.Errors(findings)
	if *asJSON {
		out := struct {
			Findings []authoring.Finding `json:"findings"`
			Errors   int                 `json:"errors"`
			Warnings int                 `json:"warnings"`
		}{append([]authoring.Finding{}, findings...), errs, len(findings) - errs}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
		fmt.Fprintf(stderr, "%s: %d errors, %d warnings\n", dir, errs, len(findings)-errs)
	}
	if errs > 0 {
		return quietExit(1)
	}
	return nil
}
