package spec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

// workshopDoc is a minimal Workshop document named name.
func workshopDoc(name string) string {
	return fmt.Sprintf(`apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: %s
spec:
  title: Workshop %s
  description: About %s
`, name, name, name)
}

// portalDoc wraps a spec.portal body and a spec.workshops body (both indented by the
// caller for their level) in a TrainingPortal document named "p".
func portalDoc(portalBody, workshops string) string {
	return "apiVersion: training.educates.dev/v1beta1\nkind: TrainingPortal\nmetadata:\n  name: p\nspec:\n" +
		"  portal:\n" + portalBody + "\n  workshops:\n" + workshops + "\n"
}

// mustParse parses docs joined by "---" and fails the test on an error.
func mustParse(t *testing.T, docs ...string) *Config {
	t.Helper()
	c, err := Parse("portal.yaml", []byte(strings.Join(docs, "\n---\n")))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// parseError parses docs and returns the *Error, failing the test when there is none.
func parseError(t *testing.T, docs ...string) *Error {
	t.Helper()
	_, err := Parse("portal.yaml", []byte(strings.Join(docs, "\n---\n")))
	if err == nil {
		t.Fatalf("Parse succeeded, want an error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse error %v is a %T, want *Error", err, err)
	}
	return e
}

func ip(i int) *int                     { return &i }
func dp(d time.Duration) *time.Duration { return &d }

func TestResolve(t *testing.T) {
	type want struct{ capacity, reserved, initial int }
	tests := []struct {
		name                        string
		entry, defaults, deprecated knobs
		maximum                     int
		want                        want
	}{
		{"nothing set gives capacity 0", knobs{}, knobs{}, knobs{}, 0, want{0, 0, 0}},
		{"capacity falls back to sessions.maximum", knobs{}, knobs{}, knobs{}, 10, want{10, 1, 1}},
		{"entry capacity wins", knobs{capacity: ip(3)}, knobs{capacity: ip(5)}, knobs{capacity: ip(7)}, 10, want{3, 1, 1}},
		{"defaults capacity before portal capacity", knobs{}, knobs{capacity: ip(5)}, knobs{capacity: ip(7)}, 10, want{5, 1, 1}},
		{"deprecated portal capacity before maximum", knobs{}, knobs{}, knobs{capacity: ip(7)}, 10, want{7, 1, 1}},
		{"negative capacity is 0", knobs{capacity: ip(-2)}, knobs{}, knobs{}, 0, want{0, 0, 0}},
		{"explicit reserved 0 stays 0", knobs{capacity: ip(3), reserved: ip(0)}, knobs{reserved: ip(2)}, knobs{}, 0, want{3, 0, 0}},
		{"reserved from defaults", knobs{capacity: ip(5)}, knobs{reserved: ip(2)}, knobs{reserved: ip(3)}, 0, want{5, 2, 2}},
		{"reserved from deprecated portal", knobs{capacity: ip(5)}, knobs{}, knobs{reserved: ip(3)}, 0, want{5, 3, 3}},
		{"reserved clamped to capacity", knobs{capacity: ip(2), reserved: ip(5)}, knobs{}, knobs{}, 0, want{2, 2, 2}},
		{"negative reserved is 0", knobs{capacity: ip(2), reserved: ip(-1)}, knobs{}, knobs{}, 0, want{2, 0, 0}},
		{"initial from defaults", knobs{capacity: ip(5)}, knobs{initial: ip(4)}, knobs{initial: ip(3)}, 0, want{5, 1, 4}},
		{"initial from deprecated portal", knobs{capacity: ip(5)}, knobs{}, knobs{initial: ip(3)}, 0, want{5, 1, 3}},
		{"initial raised to reserved", knobs{capacity: ip(5), reserved: ip(3), initial: ip(1)}, knobs{}, knobs{}, 0, want{5, 3, 3}},
		{"explicit initial 0 stays 0", knobs{capacity: ip(5), reserved: ip(3), initial: ip(0)}, knobs{}, knobs{}, 0, want{5, 3, 0}},
		{"initial clamped to capacity", knobs{capacity: ip(4), initial: ip(9)}, knobs{}, knobs{}, 0, want{4, 1, 4}},
		{"negative initial is 0", knobs{capacity: ip(4), initial: ip(-3)}, knobs{}, knobs{}, 0, want{4, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := resolve(tt.entry, tt.defaults, tt.deprecated, tt.maximum)
			if got := (want{s.Capacity, s.Reserved, s.Initial}); got != tt.want {
				t.Errorf("capacity, reserved, initial = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResolveDurations(t *testing.T) {
	type durs struct{ expires, overtime, deadline, orphaned, overdue, refresh time.Duration }
	tests := []struct {
		name                        string
		entry, defaults, deprecated knobs
		want                        durs
	}{
		{"none set", knobs{}, knobs{}, knobs{}, durs{}},
		{"entry wins", knobs{expires: dp(1), orphaned: dp(2), overdue: dp(3), refresh: dp(4), overtime: dp(5), deadline: dp(6)},
			knobs{expires: dp(10), orphaned: dp(20), overdue: dp(30), refresh: dp(40), overtime: dp(50), deadline: dp(60)},
			knobs{expires: dp(100), orphaned: dp(200), overdue: dp(300), refresh: dp(400)},
			durs{1, 5, 6, 2, 3, 4}},
		{"defaults before deprecated", knobs{},
			knobs{expires: dp(10), orphaned: dp(20), overdue: dp(30), refresh: dp(40), overtime: dp(50), deadline: dp(60)},
			knobs{expires: dp(100), orphaned: dp(200), overdue: dp(300), refresh: dp(400)},
			durs{10, 50, 60, 20, 30, 40}},
		{"deprecated portal fields last", knobs{}, knobs{},
			knobs{expires: dp(100), orphaned: dp(200), overdue: dp(300), refresh: dp(400)},
			durs{100, 0, 100, 200, 300, 400}},
		{"deadline 0 becomes expires", knobs{expires: dp(time.Hour)}, knobs{}, knobs{},
			durs{expires: time.Hour, deadline: time.Hour}},
		{"deadline below expires is raised", knobs{expires: dp(time.Hour), deadline: dp(time.Minute)}, knobs{}, knobs{},
			durs{expires: time.Hour, deadline: time.Hour}},
		{"deadline above expires is kept", knobs{expires: dp(time.Hour), deadline: dp(2 * time.Hour)}, knobs{}, knobs{},
			durs{expires: time.Hour, deadline: 2 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := resolve(tt.entry, tt.defaults, tt.deprecated, 0)
			got := durs{s.Expires, s.Overtime, s.Deadline, s.Orphaned, s.Overdue, s.Refresh}
			if got != tt.want {
				t.Errorf("durations = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPortalDefaults(t *testing.T) {
	c := mustParse(t, portalDoc("    {}", "  - name: w"), workshopDoc("w"))
	want := portal.PortalSettings{
		Name:                "p",
		Generation:          1,
		Title:               "Workshops",
		RegistrationType:    portal.RegistrationOneStep,
		RegistrationEnabled: true,
		AdminUsername:       "educates",
		RobotUsername:       "robot@educates",
		UnknownUser:         portal.UnknownUserNew,
		Workshops:           []portal.EnvironmentSettings{{Name: "w", Resource: "w"}},
	}
	if diff := cmp.Diff(want, c.Portal); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if got, want := len(c.Warnings), 1; got != want {
		t.Fatalf("warnings = %q, want one about capacity 0", c.Warnings)
	}
	if got, want := c.Warnings[0], "portal.yaml: document 1: spec.workshops[0]: capacity is 0"; !strings.HasPrefix(got, want) {
		t.Errorf("warning = %q, want prefix %q", got, want)
	}
}

func TestPortalAllFields(t *testing.T) {
	doc := `apiVersion: training.eduk8s.io/v1alpha2
kind: TrainingPortal
metadata:
  name: big-portal
  uid: 1234-abcd
  generation: 7
  namespace: ignored
  labels: {any: thing}
spec:
  portal:
    title: Big portal
    logo: data:image/png;base64,AAAA
    labels:
    - name: event
      value: conf
    - name: room
    password: s3cret
    index: https://hub.example.com/
    sessions:
      maximum: 20
      registered: 2
    capacity: 9
    reserved: 2
    initial: 4
    expires: 1h
    orphaned: 5m
    overdue: 2m
    refresh: 24h
    workshop:
      defaults:
        labels:
        - name: track
          value: default
        - name: level
          value: one
        capacity: 6
        overtime: 10m
        deadline: 90m
        env:
        - name: SHARED
          value: from-defaults
        - name: ONLY_DEFAULT
          value: d
        registry:
          host: registry.example.com
    registration:
      type: anonymous
      enabled: false
    catalog:
      visibility: public
    credentials:
      admin:
        username: boss
        password: adminpw
      robot:
        username: bot
        password: botpw
    clients:
      robot:
        id: client-id
        secret: client-secret
    updates:
      workshop: true
    rest:
      indexOrigins: ["https://Hub.Example.com/", "http://localhost:8080"]
      unknownUser: adopt
    theme:
      name: custom
    ingress:
      hostname: portal
    cookies:
      domain: example.com
  analytics:
    webhook:
      url: https://hooks.example.com/events
      secret: whsec-1
    google:
      trackingId: G-1
  workshops:
  - name: a
    alias: first
    capacity: 3
    reserved: 0
    expires: 30m
    labels:
    - name: level
      value: entry
    env:
    - name: SHARED
      value: from-entry
  - name: a
  - name: b
    initial: 0
    orphaned: 0
    registry:
      host: other.example.com
`
	c := mustParse(t, doc, workshopDoc("a"), workshopDoc("b"))
	want := portal.PortalSettings{
		Name:                   "big-portal",
		UID:                    "1234-abcd",
		Generation:             7,
		Title:                  "Big portal",
		Logo:                   "data:image/png;base64,AAAA",
		Labels:                 []portal.Label{{Name: "event", Value: "conf"}, {Name: "room", Value: ""}},
		Password:               "s3cret",
		Index:                  "https://hub.example.com/",
		SessionsMaximum:        20,
		SessionsRegistered:     2,
		SessionsAnonymous:      2,
		RegistrationType:       portal.RegistrationAnonymous,
		RegistrationEnabled:    false,
		CatalogPublic:          true,
		UpdatesWorkshop:        true,
		AdminUsername:          "boss",
		AdminPassword:          "adminpw",
		RobotUsername:          "bot",
		RobotPassword:          "botpw",
		RobotClientID:          "client-id",
		RobotClientSecret:      "client-secret",
		AnalyticsWebhookURL:    "https://hooks.example.com/events",
		AnalyticsWebhookSecret: "whsec-1",
		IndexOrigins:           []string{"https://hub.example.com", "http://localhost:8080"},
		UnknownUser:            portal.UnknownUserAdopt,
		Workshops: []portal.EnvironmentSettings{
			{
				Name: "first", Resource: "a",
				Labels: []portal.Label{{Name: "track", Value: "default"}, {Name: "level", Value: "entry"}},
				// initial comes from the deprecated portal.initial (4), clamped to capacity.
				Capacity: 3, Reserved: 0, Initial: 3,
				Expires: 30 * time.Minute, Overtime: 10 * time.Minute, Deadline: 90 * time.Minute,
				Orphaned: 5 * time.Minute, Overdue: 2 * time.Minute, Refresh: 24 * time.Hour,
				Env: []portal.EnvVar{{Name: "SHARED", Value: "from-entry"}, {Name: "ONLY_DEFAULT", Value: "d"}},
			},
			{
				Name: "a", Resource: "a",
				Labels:   []portal.Label{{Name: "track", Value: "default"}, {Name: "level", Value: "one"}},
				Capacity: 6, Reserved: 2, Initial: 4,
				Expires: time.Hour, Overtime: 10 * time.Minute, Deadline: 90 * time.Minute,
				Orphaned: 5 * time.Minute, Overdue: 2 * time.Minute, Refresh: 24 * time.Hour,
				Env: []portal.EnvVar{{Name: "SHARED", Value: "from-defaults"}, {Name: "ONLY_DEFAULT", Value: "d"}},
			},
			{
				Name: "b", Resource: "b",
				Labels:   []portal.Label{{Name: "track", Value: "default"}, {Name: "level", Value: "one"}},
				Capacity: 6, Reserved: 2, Initial: 0,
				Expires: time.Hour, Overtime: 10 * time.Minute, Deadline: 90 * time.Minute,
				Orphaned: 0, Overdue: 2 * time.Minute, Refresh: 24 * time.Hour,
				Env: []portal.EnvVar{{Name: "SHARED", Value: "from-defaults"}, {Name: "ONLY_DEFAULT", Value: "d"}},
			},
		},
	}
	if diff := cmp.Diff(want, c.Portal); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	// Only the deprecated fields draw warnings; known reference fields the portal does
	// not use (theme, ingress, registry, analytics.google, metadata.namespace) do not.
	var deprecated int
	for _, w := range c.Warnings {
		if !strings.Contains(w, "deprecated") {
			t.Errorf("unexpected warning %q", w)
		}
		deprecated++
	}
	if got, want := deprecated, 7; got != want {
		t.Errorf("%d deprecation warnings, want %d: %q", got, want, c.Warnings)
	}
}

func TestSessionsAnonymous(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{"    sessions: {registered: 3}", 3},
		{"    sessions: {registered: 3, anonymous: 1}", 1},
		{"    sessions: {registered: 3, anonymous: 0}", 0},
		{"    sessions: {}", 0},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			c := mustParse(t, portalDoc(tt.body, "  - name: w"), workshopDoc("w"))
			if got := c.Portal.SessionsAnonymous; got != tt.want {
				t.Errorf("SessionsAnonymous = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDurationForms(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"30m", 30 * time.Minute},
		{"2h", 2 * time.Hour},
		{"90s", 90 * time.Second},
		{"0", 0},
		{"90", 90 * time.Second},
		{`"90"`, 90 * time.Second},
		{`"45m"`, 45 * time.Minute},
		{"-5", 0},
		{`"-5m"`, 0},
		{"~", 0},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c := mustParse(t, portalDoc("    {}", "  - name: w\n    capacity: 1\n    expires: "+tt.value), workshopDoc("w"))
			if got := c.Portal.Workshops[0].Expires; got != tt.want {
				t.Errorf("Expires = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"1d", "abc", "1.5", "30 m", "1h30m", "[1]", "{a: 1}", "true", "99999999999h"} {
		t.Run("bad "+bad, func(t *testing.T) {
			e := parseError(t, portalDoc("    {}", "  - name: w\n    expires: "+bad), workshopDoc("w"))
			if got, want := e.Path, "spec.workshops[0].expires"; got != want {
				t.Errorf("path = %q, want %q (error %v)", got, want, e)
			}
			if !strings.Contains(e.Msg, "expected a duration") {
				t.Errorf("message = %q, want it to say a duration is expected", e.Msg)
			}
		})
	}
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		name     string
		portal   string // spec.portal body
		entries  string // spec.workshops body
		path     string
		contains string
	}{
		{"integer", "    sessions:\n      maximum: abc", "  - name: w", "spec.portal.sessions.maximum", `expected an integer, got "abc"`},
		{"float", "    sessions:\n      registered: 1.5", "  - name: w", "spec.portal.sessions.registered", `expected an integer, got "1.5"`},
		{"negative maximum", "    sessions:\n      maximum: -1", "  - name: w", "spec.portal.sessions.maximum", "at least 0"},
		{"mapping for integer", "    {}", "  - name: w\n    capacity: {a: 1}", "spec.workshops[0].capacity", "expected an integer, got a mapping"},
		{"list for string", "    title: [a, b]", "  - name: w", "spec.portal.title", "expected a string, got a list"},
		{"string for mapping", "    sessions: lots", "  - name: w", "spec.portal.sessions", `expected a mapping, got "lots"`},
		{"bool", "    registration:\n      enabled: maybe", "  - name: w", "spec.portal.registration.enabled", `expected true or false, got "maybe"`},
		{"registration type", "    registration:\n      type: two-step", "  - name: w", "spec.portal.registration.type", `got "two-step"`},
		{"visibility", "    catalog:\n      visibility: hidden", "  - name: w", "spec.portal.catalog.visibility", "expected one of public, private"},
		{"unknownUser", "    rest:\n      unknownUser: reject", "  - name: w", "spec.portal.rest.unknownUser", "expected one of new, adopt"},
		{"origin with path", "    rest:\n      indexOrigins: [https://hub.example.com/x]", "  - name: w", "spec.portal.rest.indexOrigins[0]", "expected an origin"},
		{"origin not http", "    rest:\n      indexOrigins: [https://ok.example.com, 'javascript:x']", "  - name: w", "spec.portal.rest.indexOrigins[1]", "expected an origin"},
		{"origin relative", "    rest:\n      indexOrigins: [hub.example.com]", "  - name: w", "spec.portal.rest.indexOrigins[0]", "expected an origin"},
		{"origins not a list", "    rest:\n      indexOrigins: https://hub.example.com", "  - name: w", "spec.portal.rest.indexOrigins", "expected a list"},
		{"index", "    index: javascript:alert(1)", "  - name: w", "spec.portal.index", "absolute http or https URL"},
		{"labels not a list", "    labels: {a: b}", "  - name: w", "spec.portal.labels", "expected a list, got a mapping"},
		{"label without name", "    labels:\n    - value: b", "  - name: w", "spec.portal.labels[0].name", "required"},
		{"default env name", "    workshop:\n      defaults:\n        env:\n        - name: 1BAD", "  - name: w", "spec.portal.workshop.defaults.env[0].name", "not a valid environment variable name"},
		{"defaults duration", "    workshop:\n      defaults:\n        refresh: soon", "  - name: w", "spec.portal.workshop.defaults.refresh", "expected a duration"},
		{"deprecated duration", "    orphaned: 5x", "  - name: w", "spec.portal.orphaned", "expected a duration"},
		{"entry without name", "    {}", "  - capacity: 1", "spec.workshops[0].name", "required"},
		{"duplicate name", "    {}", "  - name: w\n  - name: w", "spec.workshops[1].name", `"w" is already published by spec.workshops[0]`},
		{"duplicate alias", "    {}", "  - name: w\n    alias: x\n  - name: v\n    alias: x", "spec.workshops[1].alias", `"x" is already published`},
		{"alias clashes with name", "    {}", "  - name: w\n  - name: v\n    alias: w", "spec.workshops[1].alias", "already published"},
		{"duplicate key", "    title: a\n    title: b", "  - name: w", "spec.portal.title", "duplicate key"},
		{"webhook", "    {}\n  analytics:\n    webhook:\n      url: ftp://x", "  - name: w", "spec.analytics.webhook.url", "http or https"},
		{"webhook secret", "    {}\n  analytics:\n    webhook:\n      secret: [1]", "  - name: w", "spec.analytics.webhook.secret", "expected a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseError(t, portalDoc(tt.portal, tt.entries), workshopDoc("w"), workshopDoc("v"))
			if e.Path != tt.path || !strings.Contains(e.Msg, tt.contains) {
				t.Errorf("error = %v\nwant path %q and a message containing %q", e, tt.path, tt.contains)
			}
			if e.Line == 0 {
				t.Errorf("error %v has no line", e)
			}
			if !strings.HasPrefix(e.Error(), "portal.yaml: document 1: "+tt.path+": ") {
				t.Errorf("Error() = %q, want it to start with file, document and path", e.Error())
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "portal.yaml", Path: "spec.portal.sessions.maximum", Msg: `expected an integer, got "abc"`},
			`portal.yaml: spec.portal.sessions.maximum: expected an integer, got "abc"`},
		{Error{File: "portal.yaml", Doc: 2, Path: "kind", Line: 9, Msg: "bad"}, "portal.yaml: document 2: kind: bad (line 9)"},
		{Error{Msg: "no TrainingPortal document found"}, "no TrainingPortal document found"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestPortalName(t *testing.T) {
	for _, tt := range []struct {
		meta, contains string
	}{
		{"metadata: {}", "required"},
		{"metadata: {name: Portal}", "not a valid portal name"},
		{"metadata: {name: my.portal}", "not a valid portal name"},
		{"metadata: {name: -p}", "not a valid portal name"},
		{"metadata: {name: " + strings.Repeat("a", 64) + "}", "not a valid portal name"},
		{"metadata: {name: p, generation: 0}", "at least 1"},
		{"metadata: {name: p, generation: x}", "expected an integer"},
	} {
		t.Run(tt.meta, func(t *testing.T) {
			doc := "apiVersion: training.educates.dev/v1beta1\nkind: TrainingPortal\n" + tt.meta + "\nspec: {}\n"
			e := parseError(t, doc)
			if !strings.HasPrefix(e.Path, "metadata.") || !strings.Contains(e.Msg, tt.contains) {
				t.Errorf("error = %v, want a metadata path and %q", e, tt.contains)
			}
		})
	}
}

func TestUnknownFieldWarnings(t *testing.T) {
	portalYAML := `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: p
spec:
  colour: blue
  portal:
    titel: typo
    sessions:
      maximum: 2
      minimum: 1
    rest:
      unknownUser: new
      other: 1
  workshops:
  - name: w
    capacty: 2
    labels:
    - name: a
      value: b
      colour: red
`
	workshopYAML := workshopDoc("w") + "  difficulty: beginner\n  flavour: mint\n  session:\n    applications:\n      terminal:\n        size: big\n"
	c := mustParse(t, portalYAML, workshopYAML)
	want := []string{
		"portal.yaml: document 1: spec.portal.sessions.minimum: unknown field, ignored (line 11)",
		"portal.yaml: document 1: spec.portal.rest.other: unknown field, ignored (line 14)",
		"portal.yaml: document 1: spec.portal.titel: unknown field, ignored (line 8)",
		"portal.yaml: document 1: spec.workshops[0].labels[0].colour: unknown field, ignored (line 21)",
		"portal.yaml: document 1: spec.workshops[0].capacty: unknown field, ignored (line 17)",
		"portal.yaml: document 1: spec.colour: unknown field, ignored (line 6)",
		"portal.yaml: document 2: spec.session.applications.terminal.size: unknown field, ignored (line 36)",
		"portal.yaml: document 2: spec.flavour: unknown field, ignored (line 32)", // lines count in the file
	}
	if diff := cmp.Diff(want, c.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if got, want := c.Portal.SessionsMaximum, 2; got != want {
		t.Errorf("SessionsMaximum = %d, want %d: known fields next to unknown ones are still read", got, want)
	}
}

func TestScalarForms(t *testing.T) {
	doc := `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: p
spec:
  portal:
    index: /workshops/catalog/
    sessions:
      maximum: "5"
    registration:
      enabled: "false"
    workshop:
      defaults:
        expires: &expiry 45m
  workshops:
  - name: w
    capacity: 2
    orphaned: *expiry
`
	c := mustParse(t, doc, workshopDoc("w"))
	e := c.Portal.Workshops[0]
	if got, want := c.Portal.SessionsMaximum, 5; got != want {
		t.Errorf("SessionsMaximum = %d, want %d from a quoted integer", got, want)
	}
	if c.Portal.RegistrationEnabled {
		t.Error(`RegistrationEnabled = true, want false from the string "false"`)
	}
	if got, want := c.Portal.Index, "/workshops/catalog/"; got != want {
		t.Errorf("Index = %q, want %q", got, want)
	}
	if got, want := e.Orphaned, 45*time.Minute; got != want {
		t.Errorf("Orphaned = %v, want %v through a YAML alias", got, want)
	}
	for _, bad := range []string{"99999999999", "99999999999999999999"} {
		err := parseError(t, portalDoc("    {}", "  - name: w\n    capacity: "+bad), workshopDoc("w"))
		if err.Path != "spec.workshops[0].capacity" || !strings.Contains(err.Msg, "out of range") {
			t.Errorf("capacity %s: error = %v, want out of range", bad, err)
		}
	}
	for _, bad := range []string{"//evil.example.com/", `/\evil.example.com`, "hub.example.com", "https://user:pw@hub.example.com/"} {
		err := parseError(t, portalDoc("    index: '"+bad+"'", "  - name: w"), workshopDoc("w"))
		if err.Path != "spec.portal.index" {
			t.Errorf("index %s: error = %v, want one at spec.portal.index", bad, err)
		}
	}
}
