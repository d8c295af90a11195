// Package portalclient is a Go client of the portal's REST API for operators: it logs in
// with the robot or admin account through the OAuth2 password grant and lists environments,
// sessions and users, extends and terminates sessions, and requests sessions for users.
package portalclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Kinds of failure, checked with errors.Is on the errors the client returns.
var (
	// ErrUnreachable: no HTTP answer from the portal (connection refused, unknown host,
	// timeout), or an answer that is not the portal's.
	ErrUnreachable = errors.New("portal unreachable")
	// ErrCredentials: the portal refused the client id and secret, or the username and
	// password.
	ErrCredentials = errors.New("credentials refused")
	// ErrForbidden: the account may not do this (a robot-only request made as the admin).
	ErrForbidden = errors.New("not permitted")
	// ErrNotFound: the environment or session does not exist (or is no longer live).
	ErrNotFound = errors.New("not found")
)

// Error is the portal's refusal of a request, with its status and the sentence it gave,
// or a failure to get the portal's answer (Status 0, kind ErrUnreachable).
type Error struct {
	Status  int
	Message string
	kind    error // one of the Err* kinds, or nil
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the portal answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.kind }

// Credentials log in to the portal: the robot client's id and secret, and the robot's (or
// the admin's) username and password.
type Credentials struct {
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
}

// Client talks to one portal. Its methods log in on first use; it is not safe for
// concurrent use.
type Client struct {
	base  string
	creds Credentials
	http  *http.Client
	token string
}

// New returns a client of the portal at baseURL (http or https). A nil hc means a client
// with a 30-second timeout.
func New(baseURL string, creds Credentials, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("portal URL %q: want http(s)://host[:port]", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), creds: creds, http: hc}, nil
}

// URL is the portal's URL, without a trailing slash.
func (c *Client) URL() string { return c.base }

type tokenResponse struct {
	AccessToken string `json:"access_token"`
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// Login gets an access token with the password grant. Methods call it when needed.
func (c *Client) Login(ctx context.Context) error {
	form := url.Values{"grant_type": {"password"}, "username": {c.creds.Username}, "password": {c.creds.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/oauth2/token/", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.creds.ClientID, c.creds.ClientSecret)
	resp, body, err := c.send(req)
	if err != nil {
		return err
	}
	var oe oauthError
	switch {
	case resp.StatusCode == http.StatusOK:
		var t tokenResponse
		if json.Unmarshal(body, &t) != nil || t.AccessToken == "" {
			return c.notPortal(resp)
		}
		c.token = t.AccessToken
		return nil
	case json.Unmarshal(body, &oe) == nil && oe.Error == "invalid_client":
		return &Error{Status: resp.StatusCode, kind: ErrCredentials,
			Message: "the portal refused the client id or secret: check --client-id and --client-secret (`portal credentials` shows the id)"}
	case oe.Error == "invalid_grant":
		return &Error{Status: resp.StatusCode, kind: ErrCredentials,
			Message: fmt.Sprintf("the portal refused the username %q or its password: check --username and --password", c.creds.Username)}
	case oe.Error != "":
		return &Error{Status: resp.StatusCode, kind: ErrCredentials,
			Message: fmt.Sprintf("the portal refused the login: %s %s", oe.Error, oe.Description)}
	}
	return c.refusal(resp, body)
}

// Logout revokes the access token, if there is one. A refusal is not reported: the token
// expires on its own.
func (c *Client) Logout(ctx context.Context) error {
	if c.token == "" {
		return nil
	}
	form := url.Values{"token": {c.token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/oauth2/revoke-token/", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.creds.ClientID, c.creds.ClientSecret)
	_, _, err = c.send(req)
	c.token = ""
	return err
}

// send does the request and reads the answer's body (at most 16 MiB).
func (c *Client) send(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		return nil, nil, &Error{kind: ErrUnreachable, Message: fmt.Sprintf(
			"cannot reach the portal at %s (%v): is it running, and is --url right?", c.base, unwrapURLError(err))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, &Error{Status: resp.StatusCode, kind: ErrUnreachable,
			Message: fmt.Sprintf("the portal's answer to %s broke off: %v", req.URL.Path, err)}
	}
	return resp, body, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) notPortal(resp *http.Response) error {
	return &Error{Status: resp.StatusCode, kind: ErrUnreachable,
		Message: fmt.Sprintf("%s does not answer like a portal (%s %s): is --url right?", c.base, resp.Request.URL.Path, resp.Status)}
}

// refusal turns an answer that is not a success into an *Error with the portal's sentence.
func (c *Client) refusal(resp *http.Response, body []byte) error {
	msg := strings.TrimSpace(string(body))
	var je struct {
		Error string `json:"error"`
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(body, &je) == nil {
		msg = je.Error
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || len(msg) > 500 {
		return c.notPortal(resp)
	}
	e := &Error{Status: resp.StatusCode, Message: msg}
	switch {
	case resp.StatusCode == http.StatusNotFound || msg == "Environment does not exist":
		e.kind = ErrNotFound
	case resp.StatusCode == http.StatusUnauthorized:
		e.kind = ErrCredentials
	case resp.StatusCode == http.StatusForbidden:
		e.kind = ErrForbidden
	}
	return e
}

// get sends an authenticated GET of path (with its query) and decodes a 200 answer into out.
func (c *Client) get(ctx context.Context, path string, out any) error {
	if c.token == "" {
		if err := c.Login(ctx); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, body, err := c.send(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return c.refusal(resp, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return c.notPortal(resp)
	}
	return nil
}
