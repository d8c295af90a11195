package web

import (
	"bytes"
	"encoding/json"
	"time"

	"portal"
)

// labelMap is a JSON object of labels that keeps their configured order.
type labelMap []portal.Label

func (m labelMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, l := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, l.Name)
		b.WriteByte(':')
		writeString(&b, l.Value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeString writes s as a JSON string without HTML escaping, as Django does.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// list returns a list that marshals as [] rather than null when empty.
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type portalJSON struct {
	Name       string             `json:"name"`
	Labels     labelMap           `json:"labels"`
	UID        string             `json:"uid"`
	Generation int64              `json:"generation"`
	URL        string             `json:"url"`
	Sessions   portalSessionsJSON `json:"sessions"`
}

type portalSessionsJSON struct {
	Maximum    int `json:"maximum"`
	Registered int `json:"registered"`
	Anonymous  int `json:"anonymous"`
	Allocated  int `json:"allocated"`
}

// workshopDetails are the Workshop definition fields every workshop block shows.
type workshopDetails struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Vendor      string   `json:"vendor"`
	Authors     []string `json:"authors"`
	Difficulty  string   `json:"difficulty"`
	Duration    string   `json:"duration"`
	Tags        []string `json:"tags"`
	Labels      labelMap `json:"labels"`
	Logo        string   `json:"logo"`
	URL         string   `json:"url"`
}

type catalogWorkshopJSON struct {
	Name     string `json:"name"`
	Resource string `json:"resource"`
	workshopDetails
}

type statusWorkshopJSON struct {
	Name string `json:"name"`
	workshopDetails
}

// sessionJSON is one allocated session in the catalog and status responses.
type sessionJSON struct {
	Name       string  `json:"name"`
	State      string  `json:"state"`
	Namespace  string  `json:"namespace"`
	User       string  `json:"user"`
	Started    *string `json:"started"`
	Expires    *string `json:"expires,omitempty"`
	Countdown  *int    `json:"countdown,omitempty"`
	Extendable *bool   `json:"extendable,omitempty"`
}

type catalogEnvJSON struct {
	Name      string              `json:"name"`
	State     string              `json:"state"`
	Workshop  catalogWorkshopJSON `json:"workshop"`
	Duration  int                 `json:"duration"`
	Capacity  int                 `json:"capacity"`
	Reserved  int                 `json:"reserved"`
	Allocated int                 `json:"allocated"`
	Available int                 `json:"available"`
	Sessions  *[]sessionJSON      `json:"sessions,omitempty"`
	// Failure, an addition, says why the environment takes no sessions: its workshop
	// content could not be fetched (state STARTING).
	Failure string `json:"failure,omitempty"`
}

type catalogEnvironmentsJSON struct {
	Portal       portalJSON       `json:"portal"`
	Environments []catalogEnvJSON `json:"environments"`
}

type envSummaryJSON struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	Duration  int    `json:"duration"`
	Capacity  int    `json:"capacity"`
	Reserved  int    `json:"reserved"`
	Allocated int    `json:"allocated"`
	Available int    `json:"available"`
}

type catalogWorkshopEntryJSON struct {
	Name     string `json:"name"`
	Resource string `json:"resource"`
	workshopDetails
	Environment envSummaryJSON `json:"environment"`
}

type catalogWorkshopsJSON struct {
	Portal    portalJSON                 `json:"portal"`
	Workshops []catalogWorkshopEntryJSON `json:"workshops"`
}

type envStatusJSON struct {
	Name      string             `json:"name"`
	State     string             `json:"state"`
	Workshop  statusWorkshopJSON `json:"workshop"`
	Sessions  *[]sessionJSON     `json:"sessions,omitempty"`
	Duration  int                `json:"duration"`
	Capacity  int                `json:"capacity"`
	Reserved  int                `json:"reserved"`
	Allocated int                `json:"allocated"`
	Available int                `json:"available"`
}

type requestJSON struct {
	Name        string `json:"name"`
	Session     string `json:"session"`
	User        string `json:"user"`
	URL         string `json:"url"`
	Namespace   string `json:"namespace"`
	Workshop    string `json:"workshop"`
	Environment string `json:"environment"`
}

type userSessionJSON struct {
	Name        string  `json:"name"`
	Namespace   string  `json:"namespace"`
	Workshop    string  `json:"workshop"`
	Environment string  `json:"environment"`
	Started     *string `json:"started"`
	Expires     *string `json:"expires,omitempty"`
	Countdown   *int    `json:"countdown,omitempty"`
	Extendable  *bool   `json:"extendable,omitempty"`
}

type userSessionsJSON struct {
	User     string            `json:"user"`
	Sessions []userSessionJSON `json:"sessions"`
}

type scheduleJSON struct {
	Status     string  `json:"status"`
	Started    *string `json:"started"`
	Expires    *string `json:"expires"`
	Expiring   bool    `json:"expiring"`
	Countdown  *int    `json:"countdown,omitempty"`
	Extendable *bool   `json:"extendable,omitempty"`
}

type extendJSON struct {
	Status     string  `json:"status"`
	Started    *string `json:"started"`
	Expires    *string `json:"expires"`
	Extended   bool    `json:"extended"`
	Expiring   bool    `json:"expiring"`
	Countdown  *int    `json:"countdown,omitempty"`
	Extendable *bool   `json:"extendable,omitempty"`
}

type terminateJSON struct {
	Started *string `json:"started"`
	Expires *string `json:"expires"`
}

type configJSON struct {
	URL      string `json:"url"`
	Password string `json:"password"`
}

type authorizeJSON struct {
	Owner string `json:"owner"`
	User  string `json:"user"`
	Staff bool   `json:"staff"`
}

// timing holds the optional expires/countdown/extendable trio, all absent when the
// session has no expiry.
type timing struct {
	expires    *string
	countdown  *int
	extendable *bool
	expiring   bool
}

func timingOf(s *portal.Session, e *portal.Environment, now time.Time) timing {
	sc := portal.ScheduleOf(s, &e.EnvironmentSettings, now)
	if !sc.HasExpiry {
		return timing{}
	}
	c, x := sc.Countdown, sc.Extendable
	return timing{expires: optTime(s.Expires), countdown: &c, extendable: &x, expiring: sc.Expiring}
}
