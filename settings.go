package portal

import "time"

// Label is one name/value label; order is kept as configured.
type Label struct {
	Name  string
	Value string
}

// EnvVar is one environment variable given to every session of a workshop.
type EnvVar struct {
	Name  string
	Value string
}

// Param is one request parameter of a session (reference spec.request.parameters).
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ParamSpec declares a request parameter a Workshop accepts, with its default.
type ParamSpec struct {
	Name string
	// Value is the default when the request does not supply the parameter.
	Value string
	// Generate is "expression" when a random value matching From is generated as default.
	Generate string
	From     string
}

// Registration types of spec.portal.registration.type.
const (
	RegistrationOneStep   = "one-step"
	RegistrationAnonymous = "anonymous"
)

// UnknownUser policies: what a session request does with a `user` id that matches no user.
const (
	// UnknownUserNew creates a user with a fresh identifier (the user's document).
	UnknownUserNew = "new"
	// UnknownUserAdopt creates a user named by the supplied identifier (the reference).
	UnknownUserAdopt = "adopt"
)

// PortalSettings is the resolved TrainingPortal: everything read from its spec with the
// reference's defaults applied, plus the portal's own additions.
type PortalSettings struct {
	Name       string
	UID        string
	Generation int64
	Title      string
	Logo       string
	Labels     []Label
	// Password is the event access code for browser pages ("" = none).
	Password string
	// Index is the fallback index URL (spec.portal.index).
	Index string

	SessionsMaximum    int // 0 = unlimited sessions in the portal
	SessionsRegistered int // 0 = unlimited concurrent sessions per registered user
	SessionsAnonymous  int // 0 = unlimited concurrent sessions per anonymous/REST user

	RegistrationType    string // RegistrationOneStep or RegistrationAnonymous
	RegistrationEnabled bool
	CatalogPublic       bool // catalog.visibility: public
	UpdatesWorkshop     bool

	AdminUsername     string // "" = generate
	AdminPassword     string // "" = generate
	RobotUsername     string
	RobotPassword     string
	RobotClientID     string
	RobotClientSecret string

	AnalyticsWebhookURL string
	// AnalyticsWebhookSecret signs every webhook delivery ("" = unsigned).
	AnalyticsWebhookSecret string

	// IndexOrigins, when not empty, lists the origins (scheme://host[:port]) an index_url
	// may point at; any other origin is rejected.
	IndexOrigins []string
	// UnknownUser is UnknownUserNew (default) or UnknownUserAdopt.
	UnknownUser string

	// Workshops are the spec.workshops entries in order, resolved against the defaults.
	Workshops []EnvironmentSettings
}

// EnvironmentSettings is one spec.workshops entry after default resolution and clamping.
type EnvironmentSettings struct {
	// Name is the published workshop name: the alias if set, else the Workshop name.
	Name string
	// Resource is the Workshop resource name.
	Resource string
	// Labels are the environment's merged labels: the portal's default labels, overridden
	// by the Workshop's, overridden by the entry's own.
	Labels   []Label
	Capacity int
	Reserved int
	Initial  int
	Expires  time.Duration // 0 = sessions never expire
	Overtime time.Duration
	Deadline time.Duration // already raised to Expires when smaller
	Orphaned time.Duration
	Overdue  time.Duration
	Refresh  time.Duration
	Env      []EnvVar
}

// Workshop is a Workshop definition as the portal uses it.
type Workshop struct {
	Name        string
	UID         string
	Generation  int64
	Title       string
	Description string
	Vendor      string
	Authors     []string
	Difficulty  string
	Duration    string
	Tags        []string
	Labels      []Label
	Logo        string
	URL         string
	Params      []ParamSpec
	// ContentDir is the folder holding the workshop's content ("" = the embedded sample,
	// unless Content names published sources).
	ContentDir string
	// Content are the published sources of the workshop's content (spec.workshop.files,
	// spec.content.files), fetched once per environment into one folder; when not empty
	// they take the place of ContentDir.
	Content []ContentSource
	// Terminals is the number of terminal panes of the dashboard (1 to 3).
	Terminals int
	// Dashboards are the dashboard's extra tabs (spec.session.dashboards), in order.
	Dashboards []Dashboard
	Env        []EnvVar
	// Editor is whether the dashboard has an Editor tab (session.applications.editor).
	Editor bool
	// Resources are the limits of each session's workload (zero = the provisioner's default).
	Resources SessionResources
	// Image is the workshop image (spec.workshop.image; "" = the provisioner's session
	// image): the image of the session's workload on Kubernetes, the root file system of
	// the session's sandbox with the local provisioner.
	Image string
	// Namespaces are the settings of each session's namespace on Kubernetes
	// (spec.session.namespaces); the local provisioner ignores them.
	Namespaces SessionNamespaces
	// SessionObjects (spec.session.objects) are Kubernetes objects made for each session,
	// and EnvironmentObjects (spec.environment.objects) once for each environment. Each is
	// the JSON text of one object with apiVersion, kind and metadata.name, its strings not
	// yet expanded (ExpandVars). The local provisioner ignores them.
	SessionObjects     []string
	EnvironmentObjects []string
	// Ingresses are the web applications of a session reached on hosts of their own,
	// <name>-<session>.<ingress-domain> (spec.session.ingresses).
	Ingresses []SessionIngress
}

// Ingress authentication types (spec.session.ingresses[].authentication.type).
const (
	IngressAuthSession = "session" // the same login as the session's dashboard
	IngressAuthNone    = "none"    // anyone who knows the host
)

// SessionIngress is one entry of spec.session.ingresses: requests for the host
// <Name>-<session>.<ingress-domain> go to Protocol://Host:Port inside the session.
type SessionIngress struct {
	Name     string `json:"name"`     // a DNS label
	Port     int    `json:"port"`     // 1 to 65535
	Protocol string `json:"protocol"` // http or https (of the application, not the host)
	Host     string `json:"host"`     // the application's host as the session sees it
	// Path is prefixed to every request path ("" = none).
	Path           string `json:"path,omitempty"`
	Authentication string `json:"authentication"` // IngressAuthSession or IngressAuthNone
	// Headers are set on every request to the application, their values not yet expanded
	// (ExpandVars).
	Headers []EnvVar `json:"headers,omitempty"`
}

// Dashboard is an extra tab of a session's dashboard.
type Dashboard struct {
	Name string `json:"name"`
	// URL is an http or https URL, a path on the dashboard's own host ("/…"), or
	// terminal:<name> for a named terminal; it may hold the session's $(variables).
	URL string `json:"url"`
}

// Kinds of ContentSource.
const (
	ContentImage = "image" // an OCI image artifact holding the files
	ContentGit   = "git"   // a git repository
	ContentHTTP  = "http"  // a tar, tar.gz or zip archive on an HTTP server
)

// ContentSource is one published source of a workshop's files.
type ContentSource struct {
	Kind string // ContentImage, ContentGit or ContentHTTP
	// URL locates the source: an image reference (host/repository:tag or @digest), or an
	// http, https or file URL. It may hold $(image_repository), which the fetcher fills in.
	URL string
	// Ref is the git branch, tag or commit ("" = the repository's default branch).
	Ref string
	// Insecure lets an image come from a registry over plain http.
	Insecure bool
	// Include and Exclude are glob patterns of the source's paths ("**" matches any
	// number of folders); with Include only matching files are taken, then any matching
	// Exclude are dropped.
	Include, Exclude []string
	// NewRoot is the folder of the source that becomes the top of the content ("" = the
	// source's top).
	NewRoot string
	// Path is the folder of the content that the source fills ("" = the top).
	Path string
}

// SessionNamespaces are the reference's spec.session.namespaces settings. Empty fields
// leave the provisioner's defaults.
type SessionNamespaces struct {
	Role           string // admin, edit or view: the session's ClusterRole in its namespace
	Budget         string // a budget size (small … xxx-large), or custom for none
	SecurityPolicy string // restricted, baseline or privileged (Pod Security Admission)
	// TokenDisabled is security.token.enabled: false: the session's pod gets no token of
	// the session's ServiceAccount, so its terminals have no kubectl access (by default
	// they do, as in the reference).
	TokenDisabled bool
}

// SessionResources are the per-session limits a workshop asks for (spec.session.resources).
// Zero fields leave the provisioner's defaults.
type SessionResources struct {
	Memory    int64 // bytes (the reference's session.resources.memory)
	Storage   int64 // bytes of the session's home (the reference's session.resources.storage)
	CPU       int64 // thousandths of a CPU (portal extension: session.resources.cpu)
	Processes int64 // processes and threads (portal extension: session.resources.processes)
}

// MergedLabels merges labels in priority order: defaults, then the Workshop's, then the
// portal entry's; later values win. The result keeps first-seen key order.
func MergedLabels(layers ...[]Label) []Label {
	var out []Label
	index := map[string]int{}
	for _, layer := range layers {
		for _, l := range layer {
			if i, ok := index[l.Name]; ok {
				out[i].Value = l.Value
				continue
			}
			index[l.Name] = len(out)
			out = append(out, l)
		}
	}
	return out
}
