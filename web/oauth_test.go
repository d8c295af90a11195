package web

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTokenPasswordGrant(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"password"},
		"username": {h.creds.RobotUsername}, "password": {h.creds.RobotPassword}}.Encode(), form, h.basic())
	mustStatus(t, w, http.StatusOK)
	re := regexp.MustCompile(`^\{"access_token":"[A-Za-z0-9_-]{43}","expires_in":36000,"token_type":"Bearer","scope":"user:info","refresh_token":"[A-Za-z0-9_-]{43}"\}$`)
	if !re.Match(w.Body.Bytes()) {
		t.Errorf("body = %s", w.Body)
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json"} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Client credentials in the body work as well as the Basic header.
	w = h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"password"}, "username": {h.creds.RobotUsername},
		"password": {h.creds.RobotPassword}, "client_id": {h.creds.RobotClientID},
		"client_secret": {h.creds.RobotClientSecret}}.Encode(), form)
	mustStatus(t, w, http.StatusOK)
}

func TestTokenErrors(t *testing.T) {
	h := newHarness(t, nil)
	h.user("nopassword", false)
	good := url.Values{"grant_type": {"password"}, "username": {h.creds.RobotUsername}, "password": {h.creds.RobotPassword}}
	with := func(k, v string) string {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f.Encode()
	}
	badClient := header{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(h.creds.RobotClientID+":wrong"))}
	tests := []struct {
		name   string
		body   string
		hdr    []header
		status int
		want   string
	}{
		{"no client", good.Encode(), nil, 401, `{"error":"invalid_client"}`},
		{"bad client secret", good.Encode(), []header{badClient}, 401, `{"error":"invalid_client"}`},
		{"client id only", with("client_id", h.creds.RobotClientID), nil, 401, `{"error":"invalid_client"}`},
		{"unknown grant", with("grant_type", "client_credentials"), []header{h.basic()}, 400, `{"error":"unsupported_grant_type"}`},
		{"missing username", with("username", ""), []header{h.basic()}, 400,
			`{"error":"invalid_request","error_description":"Request is missing username parameter."}`},
		{"missing password", with("password", ""), []header{h.basic()}, 400,
			`{"error":"invalid_request","error_description":"Request is missing password parameter."}`},
		{"wrong password", with("password", "wrong"), []header{h.basic()}, 400,
			`{"error":"invalid_grant","error_description":"Invalid credentials given."}`},
		{"unknown user", with("username", "nobody"), []header{h.basic()}, 400,
			`{"error":"invalid_grant","error_description":"Invalid credentials given."}`},
		{"user without password", with("username", "nopassword"), []header{h.basic()}, 400,
			`{"error":"invalid_grant","error_description":"Invalid credentials given."}`},
		{"unknown scope", with("scope", "admin"), []header{h.basic()}, 400, `{"error":"invalid_scope"}`},
		{"refresh without token", url.Values{"grant_type": {"refresh_token"}}.Encode(), []header{h.basic()}, 400,
			`{"error":"invalid_request","error_description":"Request is missing refresh_token parameter."}`},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}.Encode(),
			[]header{h.basic()}, 400, `{"error":"invalid_grant"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := h.do("POST", "/oauth2/token/", tt.body, append(tt.hdr, form)...)
			mustStatus(t, w, tt.status)
			if got := w.Body.String(); got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
			if tt.status == 401 {
				if got, want := w.Header().Get("WWW-Authenticate"), `Bearer error="invalid_client"`; got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		for _, path := range []string{"/oauth2/token/", "/oauth2/token", "/oauth2/revoke-token/"} {
			w := h.do("GET", path, "")
			mustStatus(t, w, http.StatusMethodNotAllowed)
			if got := w.Header().Get("Allow"); got != "POST" {
				t.Errorf("%s: Allow = %q, want POST", path, got)
			}
		}
	})
}

func TestTokenRefreshRotates(t *testing.T) {
	h := newHarness(t, nil)
	access, refresh := h.tokenFor(h.creds.RobotUsername, h.creds.RobotPassword)
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(access)), http.StatusOK)

	h.clock.Advance(11 * time.Hour) // the access token has expired (also in the auth cache); the refresh token lives on
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(access)), http.StatusUnauthorized)
	w := h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"client_id": {h.creds.RobotClientID}, "client_secret": {h.creds.RobotClientSecret}}.Encode(), form)
	mustStatus(t, w, http.StatusOK)
	var resp tokenResponse
	if err := jsonUnmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.AccessToken == access || resp.RefreshToken == refresh || resp.RefreshToken == "" {
		t.Fatalf("refresh did not rotate: %s", w.Body)
	}
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(resp.AccessToken)), http.StatusOK)

	// The old refresh token is spent.
	w = h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode(), form, h.basic())
	mustStatus(t, w, http.StatusBadRequest)

	// Refresh tokens last 30 days.
	h.clock.Advance(31 * 24 * time.Hour)
	w = h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {resp.RefreshToken}}.Encode(), form, h.basic())
	mustStatus(t, w, http.StatusBadRequest)
}

func TestRevoke(t *testing.T) {
	h := newHarness(t, nil)
	access, refresh := h.tokenFor(h.creds.RobotUsername, h.creds.RobotPassword)

	w := h.do("POST", "/oauth2/revoke-token/", url.Values{"token": {"unknown"}}.Encode(), form, h.basic())
	mustStatus(t, w, http.StatusOK)
	if w.Body.Len() != 0 {
		t.Errorf("body = %q, want empty", w.Body)
	}
	w = h.do("POST", "/oauth2/revoke-token/", url.Values{"token": {access}}.Encode(), form)
	mustStatus(t, w, http.StatusUnauthorized)

	// Used (and so cached) before it is revoked: the revocation still takes effect at once.
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(access)), http.StatusOK)
	mustStatus(t, h.do("POST", "/oauth2/revoke-token/", url.Values{"token": {access}}.Encode(), form, h.basic()), http.StatusOK)
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(access)), http.StatusUnauthorized)
	w = h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode(), form, h.basic())
	mustStatus(t, w, http.StatusBadRequest)

	// Revoking by refresh token removes the access token too.
	access, refresh = h.tokenFor(h.creds.RobotUsername, h.creds.RobotPassword)
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(access)), http.StatusOK)
	mustStatus(t, h.do("POST", "/oauth2/revoke-token", url.Values{"token": {refresh}}.Encode(), form, h.basic()), http.StatusOK)
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(access)), http.StatusUnauthorized)
}

// A body over the form limit is refused, even with valid client credentials and a valid
// grant at its start: no token is issued that was never stored.
func TestTokenBodyTooLarge(t *testing.T) {
	h := newHarness(t, nil)
	body := url.Values{"grant_type": {"password"}, "username": {h.creds.RobotUsername},
		"password": {h.creds.RobotPassword}, "pad": {strings.Repeat("x", maxForm)}}.Encode()
	w := h.do("POST", "/oauth2/token/", body, form, h.basic())
	mustStatus(t, w, http.StatusRequestEntityTooLarge)
	if strings.Contains(w.Body.String(), "access_token") {
		t.Fatalf("a token was issued: %s", w.Body)
	}
}

// A malformed body is refused with invalid_request.
func TestTokenBodyMalformed(t *testing.T) {
	h := newHarness(t, nil)
	body := url.Values{"grant_type": {"password"}, "username": {h.creds.RobotUsername},
		"password": {h.creds.RobotPassword}}.Encode() + "&bad=%zz"
	w := h.do("POST", "/oauth2/token/", body, form, h.basic())
	mustStatus(t, w, http.StatusBadRequest)
	if strings.Contains(w.Body.String(), "access_token") {
		t.Fatalf("a token was issued: %s", w.Body)
	}
}
