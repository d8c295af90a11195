package kube

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// budget is one of the reference's namespace budget sizes: what all the session's
// containers together may use (ResourceQuota), and the bounds and defaults of one
// container (LimitRange).
type budget struct {
	CPU, Memory string
}

// budgets are the reference's sizes of session.namespaces.budget (CPU and memory of the
// whole namespace). "custom" (and no budget) means no quota and no limit range: the
// workshop brings its own in session.objects.
var budgets = map[string]budget{
	"small":     {"1000m", "1Gi"},
	"medium":    {"2000m", "2Gi"},
	"large":     {"4000m", "4Gi"},
	"x-large":   {"8000m", "8Gi"},
	"xx-large":  {"8000m", "12Gi"},
	"xxx-large": {"8000m", "16Gi"},
}

// Per container, whatever the size: the least it may ask for and what it gets when it
// does not say.
const (
	containerMinCPU        = "50m"
	containerMinMemory     = "32Mi"
	containerDefaultCPU    = "500m"
	containerDefaultMemory = "1Gi"
	containerRequestCPU    = "50m"
	containerRequestMemory = "128Mi"
)

// budgetNone reports whether name asks for no quota.
func budgetNone(name string) bool {
	return name == "" || name == "custom" || name == "default"
}

// lookupBudget returns the size called name, or an error listing the sizes.
func lookupBudget(name string) (budget, error) {
	b, ok := budgets[name]
	if !ok {
		var names []string
		for n := range budgets {
			names = append(names, n)
		}
		sort.Strings(names)
		return b, fmt.Errorf("unknown namespace budget %q: use one of %s or custom", name, strings.Join(names, ", "))
	}
	return b, nil
}

// quota is the ResourceQuota's hard limits for b.
func (b budget) quota() corev1.ResourceList {
	cpu, mem := resource.MustParse(b.CPU), resource.MustParse(b.Memory)
	return corev1.ResourceList{
		corev1.ResourceLimitsCPU:      cpu,
		corev1.ResourceLimitsMemory:   mem,
		corev1.ResourceRequestsCPU:    cpu,
		corev1.ResourceRequestsMemory: mem,
	}
}

// limits is the LimitRange for b: a container may use at most the whole budget.
func (b budget) limits() []corev1.LimitRangeItem {
	max := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(b.CPU), corev1.ResourceMemory: resource.MustParse(b.Memory)}
	return []corev1.LimitRangeItem{
		{Type: corev1.LimitTypePod, Max: max},
		{
			Type: corev1.LimitTypeContainer,
			Max:  max,
			Min: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(containerMinCPU),
				corev1.ResourceMemory: resource.MustParse(containerMinMemory)},
			Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(containerDefaultCPU),
				corev1.ResourceMemory: resource.MustParse(containerDefaultMemory)},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(containerRequestCPU),
				corev1.ResourceMemory: resource.MustParse(containerRequestMemory)},
		},
	}
}
