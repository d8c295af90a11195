package portal

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSessionActivityApply(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var a SessionActivity
	steps := []struct {
		name string
		data map[string]any
	}{
		{EventWorkshopView, map[string]any{"current_page": "02-b", "page_number": 2.0, "pages_total": 3.0}},
		{EventWorkshopView, map[string]any{"current_page": "01-a", "page_number": 1.0, "pages_total": 3.0}},
		{EventExaminerResult, map[string]any{"name": "t1", "success": false}},
		{EventExaminerResult, map[string]any{"name": "t2", "success": true}},
		{EventExaminerResult, map[string]any{"name": "t1", "success": true}},
		{EventExaminerResult, map[string]any{"name": "bad", "success": "yes"}},
		{EventWorkshopView, map[string]any{"current_page": 7.0}},
		{"Terminal/Connect", nil},
	}
	for i, st := range steps {
		a.Apply(st.name, st.data, t0.Add(time.Duration(i)*time.Second))
	}
	want := SessionActivity{Page: "01-a", PageNumber: 1, PagesTotal: 3, Furthest: 2,
		Examiner: map[string]bool{"t1": true, "t2": true}, Updated: t0.Add(7 * time.Second)}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("activity (-want +got):\n%s", diff)
	}
}

func TestUserObserver(t *testing.T) {
	for _, tc := range []struct {
		u    *User
		want bool
	}{
		{nil, false},
		{&User{Name: "learner"}, false},
		{&User{Name: "admin", Staff: true}, true},
		{&User{Name: "teacher", Instructor: true}, true},
		{&User{Name: "robot", Staff: true, Group: GroupRobots}, false},
	} {
		if got := tc.u.Observer(); got != tc.want {
			t.Errorf("%+v.Observer() = %v, want %v", tc.u, got, tc.want)
		}
	}
}
