package main

import (
	"context"
	"io"
	"strconv"

	"portal/portalclient"
)

// environmentsCmd is `portal environments`: the portal's environments with their counts.
func environmentsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := newOperatorFlags("environments", stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("environments", "unexpected argument %q", pos[0])
	}
	return o.withClient(ctx, "environments", func(c *portalclient.Client) error {
		cat, err := c.Environments(ctx)
		if err != nil {
			return portalError(err)
		}
		if o.json {
			return printJSON(stdout, cat)
		}
		var rows [][]string
		for _, e := range cat.Environments {
			d := &e.Duration
			if e.Duration == 0 {
				d = nil // no expiry
			}
			rows = append(rows, []string{e.Name, e.State, e.Workshop.Name, strconv.Itoa(e.Capacity),
				strconv.Itoa(e.Reserved), strconv.Itoa(e.Allocated), strconv.Itoa(e.Available), durationText(d)})
		}
		return printTable(stdout, []string{"NAME", "STATE", "WORKSHOP", "CAPACITY", "RESERVED", "ALLOCATED", "AVAILABLE", "DURATION"}, rows)
	})
}
