package web

import (
	"context"
	"strings"
	"time"

	"portal"
)

// passwordLogins is the one way a username and password are checked, for the login form
// and the token endpoint alike: the same limits, counted together, then the scheduler's
// one password check. Attempts are limited per client address and per account; only
// failed attempts count (a front end that fetches many tokens from one address with the
// right password is never limited), and the limits are checked before the password so that
// a limited client learns nothing.
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
	// The address's token is taken before the check, so that concurrent guesses cannot all
	// pass the limit, and given back when the password was right.
	p.byAddr.take(addr)
	u, err := checkPassword(ctx, name, password)
	switch {
	case err == nil:
		p.byAddr.give(addr)
	case portal.ErrorCode(err) == portal.EUNAUTHORIZED:
		p.byAccount.take(account)
	}
	return u, 0, err
}
