package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"portal/dashboard/terminal"
)

var (
	_ terminal.Runner  = (*relayTerminals)(nil)
	_ terminal.Files   = (*relayTerminals)(nil)
	_ terminal.Lister  = (*relayTerminals)(nil)
	_ terminal.FileOps = (*relayTerminals)(nil)
)

// agentRequest sends one request to the agent, once it runs, and hands a 2xx answer to
// ok; a 404 is notFound, another status an error.
func (rt *relayTerminals) agentRequest(ctx context.Context, method, path string, body func() io.Reader,
	notFound error, ok func(*http.Response) error) error {
	return rt.withAgent(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, method, "http://terminals"+path, body())
		if err != nil {
			return err
		}
		rt.setEnv(req.Header)
		resp, err := rt.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return ok(resp)
		case resp.StatusCode == http.StatusNotFound:
			return notFound
		case resp.StatusCode == http.StatusRequestEntityTooLarge:
			return terminal.ErrFileTooLarge
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("terminals agent: %s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(msg))
	})
}

// Run runs req in the session's sandbox through its terminals agent.
func (rt *relayTerminals) Run(ctx context.Context, req terminal.RunRequest) (terminal.RunResult, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return terminal.RunResult{}, err
	}
	// The agent ends the program at its time limit and answers then.
	ctx, cancel := context.WithTimeout(ctx, terminal.MaxRunTimeout+agentWait)
	defer cancel()
	var res terminal.RunResult
	err = rt.agentRequest(ctx, http.MethodPost, "/run", func() io.Reader { return bytes.NewReader(b) },
		terminal.ErrNoProgram, func(resp *http.Response) error { return json.NewDecoder(resp.Body).Decode(&res) })
	return res, err
}

// ReadFile reads a file of the session's home through its terminals agent.
func (rt *relayTerminals) ReadFile(ctx context.Context, name string) ([]byte, error) {
	var b []byte
	err := rt.agentRequest(ctx, http.MethodGet, "/files/"+url.PathEscape(name), func() io.Reader { return nil },
		terminal.ErrNoFile, func(resp *http.Response) (err error) {
			b, err = io.ReadAll(io.LimitReader(resp.Body, terminal.MaxFileSize+1))
			if err == nil && len(b) > terminal.MaxFileSize {
				err = terminal.ErrFileTooLarge
			}
			return err
		})
	return b, err
}

// WriteFile writes a file of the session's home through its terminals agent. r is read
// once: when the agent must first be started again, the file is read into memory.
func (rt *relayTerminals) WriteFile(ctx context.Context, name string, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, terminal.MaxFileSize+1))
	if err != nil {
		return err
	}
	if len(data) > terminal.MaxFileSize {
		return terminal.ErrFileTooLarge
	}
	return rt.agentRequest(ctx, http.MethodPut, "/files/"+url.PathEscape(name),
		func() io.Reader { return bytes.NewReader(data) }, terminal.ErrNoFile,
		func(*http.Response) error { return nil })
}

// ListFiles lists the files of the session's home through its terminals agent.
func (rt *relayTerminals) ListFiles(ctx context.Context) ([]terminal.FileEntry, bool, error) {
	var tree terminal.Tree
	err := rt.agentRequest(ctx, http.MethodGet, "/tree", func() io.Reader { return nil },
		terminal.ErrNoFile, func(resp *http.Response) error { return json.NewDecoder(resp.Body).Decode(&tree) })
	return tree.Files, tree.Truncated, err
}

// MakeDir makes a folder of the session's home through its terminals agent.
func (rt *relayTerminals) MakeDir(ctx context.Context, name string) error {
	return rt.agentRequest(ctx, http.MethodPost, "/folders/"+url.PathEscape(name), func() io.Reader { return nil },
		terminal.ErrNoFile, func(*http.Response) error { return nil })
}

// Rename moves a file or folder of the session's home through its terminals agent.
func (rt *relayTerminals) Rename(ctx context.Context, from, to string) error {
	b, err := json.Marshal(terminal.RenameRequest{From: from, To: to})
	if err != nil {
		return err
	}
	return rt.agentRequest(ctx, http.MethodPost, "/rename", func() io.Reader { return bytes.NewReader(b) },
		terminal.ErrNoFile, func(*http.Response) error { return nil })
}

// Remove removes a file or folder of the session's home through its terminals agent.
func (rt *relayTerminals) Remove(ctx context.Context, name string) error {
	return rt.agentRequest(ctx, http.MethodDelete, "/files/"+url.PathEscape(name), func() io.Reader { return nil },
		terminal.ErrNoFile, func(*http.Response) error { return nil })
}
