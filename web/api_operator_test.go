package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The operator endpoints answer the robot and the admin, list every account with its role
// and live sessions and every live session (reserved ones included), and refuse anyone else.
func TestOperatorEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	admin := h.user("boss", true)
	learner := h.user("learner", false)
	a := h.requestSession(robot, "alice")
	h.settle() // a new reserved session replaces the one alice took

	for _, target := range []string{"/workshops/users/", "/workshops/sessions/"} {
		mustStatus(t, h.do("GET", target, "", bearer(learner)), http.StatusForbidden)
		mustStatus(t, h.do("GET", target, ""), http.StatusUnauthorized)
	}

	w := h.do("GET", "/workshops/users/", "", bearer(admin))
	mustStatus(t, w, http.StatusOK)
	var users operatorUsersJSON
	if err := json.Unmarshal(w.Body.Bytes(), &users); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	live := map[string]int{}
	for _, u := range users.Users {
		roles[u.Name], live[u.Name] = u.Role, u.Sessions
	}
	wantRoles := map[string]string{h.creds.AdminUsername: "admin", h.creds.RobotUsername: "robot",
		"boss": "admin", "learner": "registered", "alice": "anonymous"}
	if d := cmp.Diff(wantRoles, roles); d != "" {
		t.Errorf("roles (-want +got):\n%s", d)
	}
	if live["alice"] != 1 || live["learner"] != 0 {
		t.Errorf("live sessions = %v; want alice 1, learner 0", live)
	}

	w = h.do("GET", "/workshops/sessions/", "", bearer(robot))
	mustStatus(t, w, http.StatusOK)
	var sessions operatorSessionsJSON
	if err := json.Unmarshal(w.Body.Bytes(), &sessions); err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, s := range sessions.Sessions {
		if s.Environment != envName || s.Workshop != resource {
			t.Errorf("session %s: environment %s, workshop %s", s.Name, s.Environment, s.Workshop)
		}
		owners[s.Name] = s.User
	}
	if owners[a.Name] != "alice" || len(owners) != 2 {
		t.Errorf("sessions = %v; want %s of alice and one reserved", owners, a.Name)
	}

	w = h.do("GET", "/workshops/sessions/?environment="+envName, "", bearer(admin))
	mustStatus(t, w, http.StatusOK)
	mustStatus(t, h.do("GET", "/workshops/sessions/?environment=lab-w99", "", bearer(admin)), http.StatusNotFound)
}
