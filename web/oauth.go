package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"portal"
	"portal/scheduler"
)

// Token lifetimes and scope (reference §2.1).
const (
	accessTTL  = 36000 * time.Second
	refreshTTL = 30 * 24 * time.Hour
	tokenScope = "user:info"
	maxForm    = 64 << 10
)

// oauthError is an OAuth2 error response (RFC 6749 §5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
}

var (
	errInvalidClient = &oauthError{Error: "invalid_client", status: http.StatusUnauthorized}
	errBadGrant      = &oauthError{Error: "unsupported_grant_type", status: http.StatusBadRequest}
	errBadCredential = &oauthError{Error: "invalid_grant", Description: "Invalid credentials given.", status: http.StatusBadRequest}
	errBadRefresh    = &oauthError{Error: "invalid_grant", status: http.StatusBadRequest}
	errBadScope      = &oauthError{Error: "invalid_scope", status: http.StatusBadRequest}
)

func missing(param string) *oauthError {
	return &oauthError{Error: "invalid_request", Description: "Request is missing " + param + " parameter.", status: http.StatusBadRequest}
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) oauthFail(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+e.Error+`"`)
	}
	writeJSON(w, e.status, e)
}

// oauthRequest reads the form of a token or revoke request and authenticates the robot
// client, by Basic header or client_id and client_secret in the body. It answers the
// request itself and returns false when it cannot go on.
func (s *Server) oauthRequest(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, r, errMethod)
		return "", false
	}
	if !s.parseOAuthForm(w, r) {
		return "", false
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	ok, err := s.sched.CheckClient(r.Context(), id, secret)
	if err != nil {
		s.fail(w, r, err)
		return "", false
	}
	if !ok {
		s.oauthFail(w, errInvalidClient)
		return "", false
	}
	return id, true
}

// parseOAuthForm reads the request's form once, at most maxForm bytes. A body too large
// or malformed is answered (413, 400) and false returned: nothing is read from a form that
// was not read whole.
func (s *Server) parseOAuthForm(w http.ResponseWriter, r *http.Request) bool {
	if r.PostForm != nil {
		return true // read whole by an earlier call
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.fail(w, r, errTooLarge)
		} else {
			s.oauthFail(w, &oauthError{Error: "invalid_request", Description: "Malformed request body.", status: http.StatusBadRequest})
		}
		return false
	}
	return true
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// handleToken is POST /oauth2/token/: password and refresh_token grants for the robot
// client (reference §2.1). Refresh rotates the token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if !s.parseOAuthForm(w, r) {
			return
		}
		if g := r.PostForm.Get("grant_type"); g != "password" && g != "refresh_token" {
			if g == "" {
				s.oauthFail(w, missing("grant_type"))
			} else {
				s.oauthFail(w, errBadGrant)
			}
			return
		}
	}
	client, ok := s.oauthRequest(w, r)
	if !ok {
		return
	}
	form := r.PostForm
	if sc := form.Get("scope"); sc != "" && sc != tokenScope {
		s.oauthFail(w, errBadScope)
		return
	}
	now := s.now()
	tok := &portal.AccessToken{ClientID: client, Scope: tokenScope, Created: now,
		Expires: now.Add(accessTTL), RefreshExpires: now.Add(refreshTTL)}
	access, refresh := newSecret(32), newSecret(32)
	tok.AccessHash, tok.RefreshHash = scheduler.HashToken(access), scheduler.HashToken(refresh)

	var oerr *oauthError
	switch form.Get("grant_type") {
	case "password":
		name, password := form.Get("username"), form.Get("password")
		if name == "" {
			s.oauthFail(w, missing("username"))
			return
		}
		if password == "" {
			s.oauthFail(w, missing("password"))
			return
		}
		u, wait, err := s.ui.logins.check(r.Context(), clientAddr(r), name, password, s.sched.CheckPassword)
		switch {
		case wait > 0:
			s.log.Warn("password grant rate limited", "addr", clientAddr(r), "account", name)
			w.Header().Set("Retry-After", fmt.Sprint(int(wait/time.Second)))
			s.fail(w, r, err)
			return
		case portal.ErrorCode(err) == portal.EUNAUTHORIZED:
			s.oauthFail(w, errBadCredential)
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		tok.User = u.Name
		err = s.store.Update(r.Context(), func(tx portal.Tx) error { return tx.CreateAccessToken(tok) })
		if err != nil {
			s.fail(w, r, err)
			return
		}
	case "refresh_token":
		old := form.Get("refresh_token")
		if old == "" {
			s.oauthFail(w, missing("refresh_token"))
			return
		}
		err := s.store.Update(r.Context(), func(tx portal.Tx) error {
			oerr = nil
			t, err := tx.RefreshToken(scheduler.HashToken(old))
			if errors.Is(err, portal.ErrNotFound) {
				oerr = errBadRefresh
				return nil
			} else if err != nil {
				return err
			}
			if !now.Before(t.RefreshExpires) || !equal(t.ClientID, client) {
				oerr = errBadRefresh
				return nil
			}
			if u, err := tx.User(t.User); err != nil || u.PasswordHash == "" {
				if err != nil && !errors.Is(err, portal.ErrNotFound) {
					return err
				}
				oerr = errBadRefresh
				return nil
			}
			tok.User = t.User
			s.auth.forget(t.AccessHash)
			if err := tx.DeleteAccessToken(t.AccessHash); err != nil {
				return err
			}
			return tx.CreateAccessToken(tok)
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if oerr != nil {
			s.oauthFail(w, oerr)
			return
		}
	default: // checked above; kept so that no path issues a token it did not store
		s.oauthFail(w, errBadGrant)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: access, ExpiresIn: int(accessTTL / time.Second),
		TokenType: "Bearer", Scope: tokenScope, RefreshToken: refresh})
}

// handleRevoke is POST /oauth2/revoke-token/ (RFC 7009): it revokes an access or refresh
// token and answers 200 with an empty body, also for unknown tokens.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.oauthRequest(w, r); !ok {
		return
	}
	t := r.PostForm.Get("token")
	if t == "" {
		s.oauthFail(w, &oauthError{Error: "invalid_request", Description: "Missing token parameter.", status: http.StatusBadRequest})
		return
	}
	h := scheduler.HashToken(t)
	var revoked string
	// Forgotten from the auth cache after the commit too, so that a request racing the
	// revocation cannot put it back.
	defer func() { s.auth.forget(revoked) }()
	err := s.store.Update(r.Context(), func(tx portal.Tx) error {
		if tok, err := tx.AccessToken(h); err == nil {
			revoked = tok.AccessHash
			s.auth.forget(tok.AccessHash)
			return tx.DeleteAccessToken(tok.AccessHash)
		} else if !errors.Is(err, portal.ErrNotFound) {
			return err
		}
		if tok, err := tx.RefreshToken(h); err == nil {
			revoked = tok.AccessHash
			s.auth.forget(tok.AccessHash)
			return tx.DeleteAccessToken(tok.AccessHash)
		} else if !errors.Is(err, portal.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
