package spec

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"portal"
)

// trainingPortal is a decoded TrainingPortal document.
type trainingPortal struct {
	d        *decoder
	settings portal.PortalSettings
	entries  []entryRef
}

// entryRef remembers where a spec.workshops entry names its Workshop, for the check that
// the Workshop exists, made once every document is read.
type entryRef struct {
	resource string
	nameNode *yaml.Node
	// defaultLabels and labels are merged with the Workshop's labels once every document
	// is read: defaults < Workshop < entry.
	defaultLabels, labels []portal.Label
}

// knobs are the per-workshop settings that fall back from an entry to the defaults to the
// deprecated portal fields. nil means not set, so that an explicit 0 is kept.
type knobs struct {
	capacity, reserved, initial *int
	expires, overtime, deadline *time.Duration
	orphaned, overdue, refresh  *time.Duration
}

func readKnobs(o *object) knobs {
	return knobs{
		capacity: o.int("capacity"),
		reserved: o.int("reserved"),
		initial:  o.int("initial"),
		expires:  o.duration("expires"),
		overtime: o.duration("overtime"),
		deadline: o.duration("deadline"),
		orphaned: o.duration("orphaned"),
		overdue:  o.duration("overdue"),
		refresh:  o.duration("refresh"),
	}
}

// firstSet returns the first non-nil value, or def.
func firstSet[T any](def T, vals ...*T) T {
	for _, v := range vals {
		if v != nil {
			return *v
		}
	}
	return def
}

// resolve computes one spec.workshops entry's settings from the entry, the
// workshop.defaults, the deprecated spec.portal fields and sessions.maximum, then clamps
// them, as the reference does:
//
//	capacity: entry → defaults → portal.capacity → sessions.maximum → 0; then max(0, c)
//	reserved: entry → defaults → portal.reserved → 1; then clamped to [0, capacity]
//	initial:  entry → defaults → portal.initial → reserved; clamped to [0, capacity],
//	          then raised to reserved unless 0
//	durations: entry → defaults → portal.* (expires, orphaned, overdue, refresh) → 0;
//	          a deadline of 0, or below expires, becomes expires
func resolve(entry, defaults, deprecated knobs, sessionsMaximum int) portal.EnvironmentSettings {
	capacity := firstSet(sessionsMaximum, entry.capacity, defaults.capacity, deprecated.capacity)
	capacity = max(0, capacity)
	reserved := firstSet(1, entry.reserved, defaults.reserved, deprecated.reserved)
	initial := firstSet(reserved, entry.initial, defaults.initial, deprecated.initial)
	reserved = min(max(0, reserved), capacity)
	initial = min(max(0, initial), capacity)
	if initial != 0 {
		initial = max(initial, reserved)
	}
	var none *time.Duration
	s := portal.EnvironmentSettings{
		Capacity: capacity,
		Reserved: reserved,
		Initial:  initial,
		Expires:  firstSet(0, entry.expires, defaults.expires, deprecated.expires),
		Overtime: firstSet(0, entry.overtime, defaults.overtime, none),
		Deadline: firstSet(0, entry.deadline, defaults.deadline, none),
		Orphaned: firstSet(0, entry.orphaned, defaults.orphaned, deprecated.orphaned),
		Overdue:  firstSet(0, entry.overdue, defaults.overdue, deprecated.overdue),
		Refresh:  firstSet(0, entry.refresh, defaults.refresh, deprecated.refresh),
	}
	if s.Deadline < s.Expires {
		s.Deadline = s.Expires
	}
	return s
}

// mergeEnv returns the entry's variables followed by the defaults not named by the entry.
func mergeEnv(entry, defaults []portal.EnvVar) []portal.EnvVar {
	out := append([]portal.EnvVar(nil), entry...)
	named := map[string]bool{}
	for _, e := range entry {
		named[e.Name] = true
	}
	for _, e := range defaults {
		if !named[e.Name] {
			out = append(out, e)
		}
	}
	return out
}

// slugPattern is what a portal name must look like: it becomes part of environment and
// session names, host names and Kubernetes object names.
var slugPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// resourceNamePattern is a Kubernetes object name (a DNS subdomain).
var resourceNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// readMetadata reads metadata.{name,uid,generation}. Other metadata (namespace, labels,
// annotations, …) is accepted silently.
func readMetadata(d *decoder, top *object, pattern *regexp.Regexp, kind string) (name, uid string, generation int64) {
	meta := top.obj("metadata")
	name, _ = meta.str("name")
	switch {
	case name == "":
		n := meta.node
		if n == nil {
			n = top.node
		}
		d.fail(n, "metadata.name", "required field is missing")
	case len(name) > 63 || !pattern.MatchString(name):
		d.fail(meta.get("name"), "metadata.name",
			"%q is not a valid %s name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
			name, kind)
	}
	uid, _ = meta.str("uid")
	generation = 1
	if g := meta.int64("generation"); g != nil {
		if *g < 1 {
			d.fail(meta.get("generation"), "metadata.generation", "expected an integer of at least 1, got %d", *g)
		}
		generation = *g
	}
	return name, uid, generation
}

// nonNegative reads an optional integer that must not be negative; absent gives def.
func nonNegative(o *object, key string, def int) int {
	v := o.int(key)
	if v == nil {
		return def
	}
	if *v < 0 {
		o.d.fail(o.get(key), o.at(key), "expected an integer of at least 0, got %d", *v)
		return def
	}
	return *v
}

func readTrainingPortal(d *decoder, top *object) *trainingPortal {
	tp := &trainingPortal{d: d}
	s := &tp.settings
	s.Name, s.UID, s.Generation = readMetadata(d, top, slugPattern, "portal")

	spec := top.obj("spec")
	p := spec.obj("portal")
	s.Title = p.strOr("title", "Workshops")
	s.Logo = p.strOr("logo", "")
	s.Labels = p.labels("labels")
	s.Password = p.strOr("password", "")
	if s.Index = p.strOr("index", ""); s.Index != "" && !validIndex(s.Index) {
		d.fail(p.get("index"), p.at("index"),
			"expected an absolute http or https URL or a path starting with /, got %q", s.Index)
	}

	sessions := p.obj("sessions")
	s.SessionsMaximum = nonNegative(sessions, "maximum", 0)
	s.SessionsRegistered = nonNegative(sessions, "registered", 0)
	s.SessionsAnonymous = nonNegative(sessions, "anonymous", s.SessionsRegistered)
	sessions.finish()

	deprecated := knobs{
		capacity: p.int("capacity"),
		reserved: p.int("reserved"),
		initial:  p.int("initial"),
		expires:  p.duration("expires"),
		orphaned: p.duration("orphaned"),
		overdue:  p.duration("overdue"),
		refresh:  p.duration("refresh"),
	}
	for _, k := range []string{"capacity", "reserved", "initial", "expires", "orphaned", "overdue", "refresh"} {
		if p.has(k) {
			d.warn(p.get(k), p.at(k), "deprecated; use spec.portal.workshop.defaults.%s", k)
		}
	}

	workshop := p.obj("workshop")
	defs := workshop.obj("defaults")
	defaults := readKnobs(defs)
	defaultLabels := defs.labels("labels")
	defaultEnv := defs.env("env")
	defs.ignore("registry")
	defs.finish()
	workshop.finish()

	registration := p.obj("registration")
	s.RegistrationType = registration.enum("type", portal.RegistrationOneStep,
		portal.RegistrationOneStep, portal.RegistrationAnonymous)
	s.RegistrationEnabled = registration.boolOr("enabled", true)
	registration.finish()

	catalog := p.obj("catalog")
	s.CatalogPublic = catalog.enum("visibility", "private", "public", "private") == "public"
	catalog.finish()

	credentials := p.obj("credentials")
	admin := credentials.obj("admin")
	s.AdminUsername = admin.strOr("username", "educates")
	s.AdminPassword = admin.strOr("password", "")
	admin.finish()
	robot := credentials.obj("robot")
	s.RobotUsername = robot.strOr("username", "robot@educates")
	s.RobotPassword = robot.strOr("password", "")
	robot.finish()
	credentials.finish()

	clients := p.obj("clients")
	robotClient := clients.obj("robot")
	s.RobotClientID = robotClient.strOr("id", "")
	s.RobotClientSecret = robotClient.strOr("secret", "")
	robotClient.finish()
	clients.finish()

	updates := p.obj("updates")
	s.UpdatesWorkshop = updates.boolOr("workshop", false)
	updates.finish()

	rest := p.obj("rest")
	for i, o := range rest.strings("indexOrigins") {
		origin, ok := normalizeOrigin(o)
		if !ok {
			d.fail(rest.list("indexOrigins")[i], index(rest.at("indexOrigins"), i),
				"expected an origin such as \"https://hub.example.com\" (scheme, host and optional port only), got %q", o)
			continue
		}
		s.IndexOrigins = append(s.IndexOrigins, origin)
	}
	s.UnknownUser = rest.enum("unknownUser", portal.UnknownUserNew, portal.UnknownUserNew, portal.UnknownUserAdopt)
	rest.finish()

	p.ignore("theme", "ingress", "cookies")
	p.finish()

	analytics := spec.obj("analytics")
	webhook := analytics.obj("webhook")
	s.AnalyticsWebhookURL = webhook.strOr("url", "")
	if u := s.AnalyticsWebhookURL; u != "" && !isHTTPURL(u) {
		d.fail(webhook.get("url"), webhook.at("url"), "expected an absolute http or https URL, got %q", u)
	}
	s.AnalyticsWebhookSecret = webhook.strOr("secret", "")
	webhook.finish()
	analytics.ignore("google", "clarity", "amplitude")
	analytics.finish()

	published := map[string]string{} // published name → path of the entry that took it
	for i, n := range spec.list("workshops") {
		e := d.object(n, index("spec.workshops", i))
		resource, _ := e.str("name")
		if resource == "" {
			d.fail(n, e.at("name"), "required field is missing")
		}
		alias, hasAlias := e.str("alias")
		name, key := resource, "name"
		if hasAlias {
			if alias == "" {
				d.fail(e.get("alias"), e.at("alias"), "must not be empty")
			}
			name, key = alias, "alias"
		}
		if first, dup := published[name]; dup && name != "" {
			d.fail(e.get(key), e.at(key), "workshop %q is already published by %s", name, first)
		}
		published[name] = index("spec.workshops", i)

		env := resolve(readKnobs(e), defaults, deprecated, s.SessionsMaximum)
		env.Name = name
		env.Resource = resource
		entryLabels := e.labels("labels")
		env.Labels = portal.MergedLabels(defaultLabels, entryLabels)
		env.Env = mergeEnv(e.env("env"), defaultEnv)
		e.ignore("registry")
		e.finish()
		if env.Capacity == 0 && d.err == nil {
			d.warn(n, index("spec.workshops", i),
				"capacity is 0, so no session of %q can ever be created; set capacity or spec.portal.sessions.maximum", name)
		}
		s.Workshops = append(s.Workshops, env)
		tp.entries = append(tp.entries, entryRef{resource: resource, nameNode: e.get("name"),
			defaultLabels: defaultLabels, labels: entryLabels})
	}
	spec.finish()
	top.finish()
	return tp
}

// validIndex reports whether s may be the portal's fallback index URL.
func validIndex(s string) bool {
	if strings.HasPrefix(s, "/") {
		return !strings.HasPrefix(s, "//") && !strings.Contains(s, `\`)
	}
	return isHTTPURL(s)
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// normalizeOrigin checks that s is scheme://host[:port] (an optional trailing slash aside)
// and returns it in lower case without the slash.
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || !isHTTPURL(s) || u.Hostname() == "" {
		return "", false
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || u.Opaque != "" {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}
