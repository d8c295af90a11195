package portal

import "time"

// SessionActivity is what a session's dashboard last reported about its learner, for the
// instructor view: the page of the instructions on view, how far the learner got, when
// they last did something, and the outcome of each examiner test they ran.
type SessionActivity struct {
	Session string
	// Page is the name of the page last viewed ("" before the first view); PageNumber
	// counts from 1 and PagesTotal is 0 when the dashboard did not say.
	Page       string
	PageNumber int
	PagesTotal int
	// Furthest is the highest page number viewed so far.
	Furthest int
	// Examiner maps the name of each examiner test run to whether its last run passed.
	Examiner map[string]bool
	Updated  time.Time
}

// Events a dashboard forwards that SessionActivity.Apply records. ExaminerResult is the
// portal's own event (not the reference's): {"name": test, "success": bool}.
const (
	EventWorkshopView   = "Workshop/View"
	EventActionEvent    = "Action/Event"
	EventExaminerResult = "Examiner/Result"
)

// Apply records a forwarded dashboard event at now. Every event counts as activity; page
// views and action events move the current page, examiner results are kept by test name.
// Fields of the wrong type are ignored.
func (a *SessionActivity) Apply(name string, data map[string]any, now time.Time) {
	a.Updated = now
	switch name {
	case EventWorkshopView, EventActionEvent:
		page, _ := data["current_page"].(string)
		if page == "" {
			return
		}
		a.Page = page
		a.PageNumber = intField(data["page_number"])
		if n := intField(data["pages_total"]); n > 0 {
			a.PagesTotal = n
		}
		a.Furthest = max(a.Furthest, a.PageNumber)
	case EventExaminerResult:
		test, _ := data["name"].(string)
		passed, ok := data["success"].(bool)
		if test == "" || !ok {
			return
		}
		if a.Examiner == nil {
			a.Examiner = map[string]bool{}
		}
		a.Examiner[test] = passed
	}
}

// intField reads a JSON number as a non-negative int, 0 when it is not one.
func intField(v any) int {
	switch n := v.(type) {
	case float64:
		if n >= 0 && n < 1e9 {
			return int(n)
		}
	case int:
		return max(n, 0)
	}
	return 0
}
