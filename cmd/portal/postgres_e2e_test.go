package main

import (
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"portal/internal/pgtest"
)

// TestPostgresEndToEnd runs the portal binary on PostgreSQL (--database): it allocates a
// session, and a portal started on the same database with another data folder finds the
// records there: credentials (only hashes are kept, so the banner does not show them
// again, and `portal credentials` reads them), the robot's token, the environments.
func TestPostgresEndToEnd(t *testing.T) {
	db := pgtest.Need(t)
	p := startPortalWith(t, t.TempDir(), e2eConfig, nil, "--database", db)
	tok := p.token()
	var r requestResponse
	p.get(tok, "/workshops/environment/lab-w01/request/?index_url=https://hub.test/", 200, &r)
	if r.Name == "" {
		t.Fatalf("request answered %+v, want a session", r)
	}
	var before catalog
	p.get(tok, "/workshops/catalog/environments/", 200, &before)
	p.get(tok, "/workshops/session/"+r.Name+"/terminate/", 200, nil)
	p.stop()
	// `portal credentials` reads the names from the database too.
	out, err := exec.Command(binary, "credentials", "--database", db, "--data-dir", t.TempDir()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), p.creds["robot"]) || p.creds["robot"] == "" {
		t.Fatalf("portal credentials --database: %v\n%s", err, out)
	}

	q := startPortalWith(t, t.TempDir(), e2eConfig, []string{"PORTAL_DATABASE=" + db})
	if q.creds["secret"] != "" || q.creds["robotpw"] != "" {
		t.Fatalf("the second portal made new credentials rather than finding them in the database: %v", q.creds)
	}
	var after catalog
	q.get(tok, "/workshops/catalog/environments/", 200, &after)
	if len(after.Environments) != len(before.Environments) || len(after.Environments) == 0 {
		t.Fatalf("environments before %+v, after %+v", before.Environments, after.Environments)
	}
	for i, e := range after.Environments {
		if e.Name != before.Environments[i].Name {
			t.Errorf("environment %d is %s, was %s", i, e.Name, before.Environments[i].Name)
		}
	}
}

// TestTokenRevokedOnEveryReplica runs two portals on one PostgreSQL database: a token one
// of them knows (its bearer cache holds it) is refused there once the other revoked it.
// (That the cache lets go at the revocation's version, not only after its few seconds, is
// web's TestAuthCacheFollowsTheSharedStoresVersion.)
func TestTokenRevokedOnEveryReplica(t *testing.T) {
	db := pgtest.Need(t)
	dir := t.TempDir()
	a := startPortalWith(t, dir, e2eConfig, nil, "--database", db)
	b := startPortalWith(t, dir, e2eConfig, nil, "--database", db)
	b.creds = a.creds // only the first shows them; the store keeps hashes
	tok := a.token()
	b.get(tok, "/workshops/catalog/environments/", 200, nil)
	b.get(tok, "/workshops/catalog/environments/", 200, nil) // now from b's cache

	form := url.Values{"token": {tok}}
	req, _ := http.NewRequest("POST", a.url+"/oauth2/revoke-token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(a.creds["id"], a.creds["secret"])
	a.do(req, 200, nil)

	eventually(t, 5*time.Second, "the other replica to refuse the revoked token", func() bool {
		req, _ := http.NewRequest("GET", b.url+"/workshops/catalog/environments/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	})
}
