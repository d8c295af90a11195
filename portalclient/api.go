package portalclient

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// Portal is the portal block of the catalog.
type Portal struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Sessions struct {
		Maximum    int `json:"maximum"`
		Registered int `json:"registered"`
		Anonymous  int `json:"anonymous"`
		Allocated  int `json:"allocated"`
	} `json:"sessions"`
}

// Environment is a workshop environment with its session counts.
type Environment struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Workshop struct {
		Name     string `json:"name"`
		Resource string `json:"resource"`
		Title    string `json:"title"`
	} `json:"workshop"`
	Duration  int    `json:"duration"` // seconds a session lasts; 0: no expiry
	Capacity  int    `json:"capacity"`
	Reserved  int    `json:"reserved"`
	Allocated int    `json:"allocated"`
	Available int    `json:"available"`
	Failure   string `json:"failure,omitempty"`
}

// Catalog is the answer of GET /workshops/catalog/environments/.
type Catalog struct {
	Portal       Portal        `json:"portal"`
	Environments []Environment `json:"environments"`
}

// Environments lists the portal's environments. The robot account sees those starting,
// running and stopping; any other account sees the running ones only.
func (c *Client) Environments(ctx context.Context) (*Catalog, error) {
	var out Catalog
	err := c.get(ctx, "/workshops/catalog/environments/?state=starting&state=running&state=stopping", &out)
	return &out, err
}

// Session is a session that is not stopped. User is "" for a reserved session.
type Session struct {
	Name        string     `json:"name"`
	Environment string     `json:"environment"`
	Workshop    string     `json:"workshop"`
	State       string     `json:"state"`
	User        string     `json:"user"`
	Started     *time.Time `json:"started"`
	Expires     *time.Time `json:"expires,omitempty"`
	Countdown   *int       `json:"countdown,omitempty"`
	Extendable  *bool      `json:"extendable,omitempty"`
}

// Sessions lists every session that is not stopped, of one environment when environment
// is not "" (ErrNotFound when it does not exist). Robot or admin account.
func (c *Client) Sessions(ctx context.Context, environment string) ([]Session, error) {
	path := "/workshops/sessions/"
	if environment != "" {
		path += "?" + url.Values{"environment": {environment}}.Encode()
	}
	var out struct {
		Sessions []Session `json:"sessions"`
	}
	err := c.get(ctx, path, &out)
	return out.Sessions, err
}

// User is an account of the portal.
type User struct {
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	Role      string     `json:"role"` // admin, robot, registered or anonymous
	Joined    *time.Time `json:"joined"`
	Sessions  int        `json:"sessions"` // sessions not stopped
}

// Users lists every account. Robot or admin account.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var out struct {
		Users []User `json:"users"`
	}
	err := c.get(ctx, "/workshops/users/", &out)
	return out.Users, err
}

// Extension is the answer of a session's extend endpoint.
type Extension struct {
	Status     string     `json:"status"`
	Started    *time.Time `json:"started"`
	Expires    *time.Time `json:"expires"`
	Extended   bool       `json:"extended"`
	Expiring   bool       `json:"expiring"`
	Countdown  *int       `json:"countdown,omitempty"`
	Extendable *bool      `json:"extendable,omitempty"`
}

// Extend extends a session by the environment's step if its rules allow it now (Extended
// says whether they did). ErrNotFound: no live session of that name.
func (c *Client) Extend(ctx context.Context, session string) (*Extension, error) {
	var out Extension
	err := c.get(ctx, "/workshops/session/"+url.PathEscape(session)+"/extend/", &out)
	return &out, err
}

// Termination is the answer of a session's terminate endpoint.
type Termination struct {
	Started *time.Time `json:"started"`
	Expires *time.Time `json:"expires"`
}

// Terminate stops a session that is in use; repeating it on a stopping session succeeds.
// ErrNotFound: no live session of that name.
func (c *Client) Terminate(ctx context.Context, session string) (*Termination, error) {
	var out Termination
	err := c.get(ctx, "/workshops/session/"+url.PathEscape(session)+"/terminate/", &out)
	return &out, err
}

// Request asks for a session of an environment for a user.
type Request struct {
	User     string // the user's id; "" lets the portal make one
	IndexURL string // where the browser goes when the session ends; required
	Email    string
	Timeout  int // seconds to activate; 0: the portal's default
}

// Allocation is a session obtained for a user. ActivationURL is absolute.
type Allocation struct {
	Name          string `json:"name"`
	User          string `json:"user"`
	Environment   string `json:"environment"`
	Workshop      string `json:"workshop"`
	ActivationURL string `json:"activation_url"`
}

// Request obtains the user's session of the environment, a new one or the one the user
// already has, and its activation URL. Robot account only. ErrNotFound: no such
// environment; a 503 *Error: no session available.
func (c *Client) Request(ctx context.Context, environment string, r Request) (*Allocation, error) {
	q := url.Values{"index_url": {r.IndexURL}}
	if r.User != "" {
		q.Set("user", r.User)
	}
	if r.Email != "" {
		q.Set("email", r.Email)
	}
	if r.Timeout > 0 {
		q.Set("timeout", strconv.Itoa(r.Timeout))
	}
	var out struct {
		Name        string `json:"name"`
		User        string `json:"user"`
		URL         string `json:"url"`
		Workshop    string `json:"workshop"`
		Environment string `json:"environment"`
	}
	err := c.get(ctx, "/workshops/environment/"+url.PathEscape(environment)+"/request/?"+q.Encode(), &out)
	if err != nil {
		return nil, err
	}
	return &Allocation{Name: out.Name, User: out.User, Environment: out.Environment, Workshop: out.Workshop,
		ActivationURL: c.base + out.URL}, nil
}
