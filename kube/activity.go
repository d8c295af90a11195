package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"portal"
)

var _ portal.ActivityReader = (*Provisioner)(nil)

// Activity asks the session's dashboard (at the endpoint Status reports) for its activity
// figures, with the session's secret from the handle, or from the session's Secret for a
// handle without one. A session whose namespace is gone, or being deleted, yields
// portal.ErrGone; one whose dashboard is not ready yet an error.
func (p *Provisioner) Activity(ctx context.Context, b []byte) (portal.Activity, error) {
	h, err := parseHandle(b)
	if err != nil {
		return portal.Activity{}, err
	}
	st, err := p.Status(ctx, b)
	if err != nil {
		return portal.Activity{}, err
	}
	switch st.Phase {
	case portal.WorkloadGone:
		return portal.Activity{}, portal.ErrGone
	case portal.WorkloadReady:
	default:
		return portal.Activity{}, fmt.Errorf("kube: activity %s: the dashboard is %v", h.Namespace, st.Phase)
	}
	secret := h.Secret
	if secret == "" {
		// A handle of an older portal: the secret is in the session's Secret (which needs
		// get on secrets).
		s, err := p.client.CoreV1().Secrets(h.Namespace).Get(ctx, SecretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return portal.Activity{}, portal.ErrGone
		}
		if err != nil {
			return portal.Activity{}, fmt.Errorf("kube: activity %s: the session's secret: %w", h.Namespace, err)
		}
		secret = string(s.Data["SESSION_SECRET"])
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.Endpoint+"/session/activity", nil)
	if err != nil {
		return portal.Activity{}, fmt.Errorf("kube: activity %s: %w", h.Namespace, err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return portal.Activity{}, fmt.Errorf("kube: activity %s: %w", h.Namespace, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return portal.Activity{}, fmt.Errorf("kube: activity %s: the dashboard answered %s", h.Namespace, resp.Status)
	}
	var figures struct {
		Idle int64 `json:"idle-time"`
		View int64 `json:"last-view"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&figures); err != nil {
		return portal.Activity{}, fmt.Errorf("kube: activity %s: %w", h.Namespace, err)
	}
	return portal.Activity{IdleTime: time.Duration(figures.Idle) * time.Second,
		LastView: time.Duration(figures.View) * time.Second}, nil
}
