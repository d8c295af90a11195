package web

import (
	"context"
	"strings"
	"time"

	"portal"
)

// passwordLogins is the one way a username and password are checked, for the login form
// and the token endpoint alike: the same limits, counted together, then the scheduler's
// one password check. Attempts are limited per client address (every attempt) and per
// account (failed attempts), and the limits are checked before the password so that a
// limited client learns nothing.
type passwordLogins struct {
	byAddr, byAccount *limiter
}

// check returns the user whose password this is, using checkPassword (the scheduler's
// CheckPassword or Authenticate). A limited attempt gets an eTooMany error and the time
// to wait; a wrong one the check's EUNAUTHORIZED error.
func (p *passwordLogins) check(ctx context.Context, addr, name, password string,
	checkPassword func(ctx context.Context, name, password string) (*portal.User, error)) (*portal.User, time.Duration, error) {
	account := strings.ToLower(name)
	if d := max(p.byAddr.wait(addr), p.byAccount.wait(account)); d > 0 {
		return nil, d, tooMany(d, "login attempts")
	}
	p.byAddr.take(addr)
	u, err := checkPassword(ctx, name, password)
	if portal.ErrorCode(err) == portal.EUNAUTHORIZED {
		p.byAccount.take(account)
	}
	return u, 0, err
}
