package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"portal/portalclient"
)

const sessionsUsage = `Usage: portal sessions <list|extend|terminate> [flags]

  list [--environment E]  every session that is not stopped, reserved ones included
  extend NAME             extend a session if its environment's rules allow it now
  terminate NAME          stop a session in use now

Run "portal sessions <command> -h" for the flags.
`

// sessionsCmd is `portal sessions list|extend|terminate`.
func sessionsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, sessionsUsage)
		return &exitError{code: exitUsage, err: errUsage}
	}
	switch args[0] {
	case "list":
		return sessionsList(ctx, args[1:], stdout, stderr)
	case "extend", "terminate":
		return sessionAction(ctx, args[0], args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, sessionsUsage)
		return nil
	}
	fmt.Fprintf(stderr, "portal sessions: unknown command %q\n\n%s", args[0], sessionsUsage)
	return &exitError{code: exitUsage, err: errUsage}
}

func sessionsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := newOperatorFlags("sessions list", stderr)
	env := fs.String("environment", "", "only the sessions of this environment")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("sessions list", "unexpected argument %q", pos[0])
	}
	return o.withClient(ctx, "sessions list", func(c *portalclient.Client) error {
		list, err := c.Sessions(ctx, *env)
		if err != nil {
			if *env != "" && errorsIsNotFound(err) {
				err = explain(err, "the portal has no environment %q: `portal environments` lists them", *env)
			}
			return portalError(err)
		}
		if o.json {
			return printJSON(stdout, list)
		}
		var rows [][]string
		for _, s := range list {
			user := s.User
			if user == "" {
				user = "(reserved)"
			}
			rows = append(rows, []string{s.Name, s.Environment, s.State, user, utcTime(s.Started),
				durationText(s.Countdown), yesNo(s.Extendable)})
		}
		return printTable(stdout, []string{"NAME", "ENVIRONMENT", "STATE", "USER", "STARTED", "EXPIRES IN", "EXTENDABLE"}, rows)
	})
}

// sessionAction is `portal sessions extend NAME` and `portal sessions terminate NAME`.
func sessionAction(ctx context.Context, action string, args []string, stdout, stderr io.Writer) error {
	cmd := "sessions " + action
	fs, o := newOperatorFlags(cmd, stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(cmd, "want one session name, got %d arguments", len(pos))
	}
	name := pos[0]
	return o.withClient(ctx, cmd, func(c *portalclient.Client) error {
		var out any
		var done error
		switch action {
		case "extend":
			x, err := c.Extend(ctx, name)
			if err != nil {
				return portalError(sessionNotFound(name, err))
			}
			out = x
			if !x.Extended {
				done = &exitError{code: exitRefused, err: fmt.Errorf(
					"session %s was not extended: it expires at %s; a session is extended only near its end, and never past its environment's deadline",
					name, utcTime(x.Expires))}
			} else if !o.json {
				fmt.Fprintf(stdout, "Session %s extended: it now expires at %s (in %s).\n", name, utcTime(x.Expires), durationText(x.Countdown))
			}
		case "terminate":
			t, err := c.Terminate(ctx, name)
			if err != nil {
				return portalError(sessionNotFound(name, err))
			}
			out = t
			if !o.json {
				fmt.Fprintf(stdout, "Session %s is stopping.\n", name)
			}
		}
		if o.json {
			if err := printJSON(stdout, out); err != nil {
				return err
			}
		}
		return done
	})
}

func sessionNotFound(name string, err error) error {
	if errorsIsNotFound(err) {
		return explain(err, "the portal has no live session %q: `portal sessions list` lists them", name)
	}
	return err
}

func errorsIsNotFound(err error) bool { return errors.Is(err, portalclient.ErrNotFound) }

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}
