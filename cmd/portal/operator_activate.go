package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"portal/portalclient"
)

// activateCmd is `portal activate --environment E --user U`: the user's session of the
// environment (the one the user has, or a new one) and the URL that opens it.
func activateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := newOperatorFlags("activate", stderr)
	env := fs.String("environment", "", "the environment (required; portal environments lists them)")
	user := fs.String("user", "", "the user's id (required); the portal makes the user if it does not exist")
	index := fs.String("index-url", "/", "where the browser goes when the session ends")
	email := fs.String("email", "", "the user's email address, for a new user")
	timeout := fs.Int("timeout", 0, "seconds to open the URL before the session is given up (0: the portal's default, 60)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("activate", "unexpected argument %q", pos[0])
	case *env == "":
		return usageError("activate", "need --environment")
	case *user == "":
		return usageError("activate", "need --user")
	case *timeout < 0:
		return usageError("activate", "--timeout must not be negative")
	}
	return o.withClient(ctx, "activate", func(c *portalclient.Client) error {
		var busy *portalclient.Error
		a, err := c.Request(ctx, *env, portalclient.Request{User: *user, IndexURL: *index, Email: *email, Timeout: *timeout})
		switch {
		case errors.Is(err, portalclient.ErrNotFound):
			return portalError(explain(err, "the portal has no environment %q: `portal environments` lists them", *env))
		case errors.Is(err, portalclient.ErrForbidden):
			return portalError(explain(err, "%v: requesting a session needs the robot account", err))
		case errors.As(err, &busy) && busy.Status == http.StatusServiceUnavailable:
			return portalError(explain(err, "%s: the portal cannot give %q a session of %s now (its capacity or a session limit is reached, or it is starting); try again later",
				busy.Message, *user, *env))
		case err != nil:
			return portalError(err)
		}
		if a.User != *user {
			fmt.Fprintf(stderr, "portal: the portal knew no user %q and made the user %s (its setting for unknown users): the session is theirs\n", *user, a.User)
		}
		if o.json {
			return printJSON(stdout, a)
		}
		_, err = fmt.Fprintln(stdout, a.ActivationURL)
		return err
	})
}
