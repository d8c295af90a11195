package main

import (
	"context"
	"io"
	"strconv"

	"portal/portalclient"
)

// usersCmd is `portal users`: every account with its role and live sessions.
func usersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := newOperatorFlags("users", stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("users", "unexpected argument %q", pos[0])
	}
	return o.withClient(ctx, "users", func(c *portalclient.Client) error {
		users, err := c.Users(ctx)
		if err != nil {
			return portalError(err)
		}
		if o.json {
			return printJSON(stdout, users)
		}
		var rows [][]string
		for _, u := range users {
			rows = append(rows, []string{u.Name, u.Role, strconv.Itoa(u.Sessions), orDash(u.Email), utcTime(u.Joined)})
		}
		return printTable(stdout, []string{"NAME", "ROLE", "SESSIONS", "EMAIL", "JOINED"}, rows)
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
