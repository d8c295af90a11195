package kube

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// budget is one of the reference's namespace budget sizes (session.namespaces.budget):
// what the session's workloads together may use, the bounds and defaults of one pod or
// container, and how many objects of some kinds the namespace may hold.
type budget struct {
	// CPU and Memory bound the namespace's limits (the quota) and one pod's or container's.
	CPU, Memory string
	// DefaultCPU and DefaultMemory are a container's limits when it gives none.
	DefaultCPU, DefaultMemory string
	// Storage is the largest PersistentVolumeClaim.
	Storage string
	// Counts of objects the namespace may hold.
	PVCs, ReplicationControllers, Secrets, Services int
}

// budgets are the reference's sizes, with the values its session manager applies
// (educates-training-platform, session-manager/handlers/namespace_budgets.py, release
// 3.7.1). Its documentation (project-docs/custom-resources/workshop-definition.md,
// "Resource budget for namespaces") has the same CPU and memory figures but gives 50m as
// a container's least CPU where the code uses 1m; the code's value is used here.
// "custom" (and "default", and no budget) means no quota and no limit range: the workshop
// brings its own in session.objects.
var budgets = map[string]budget{
	"small":     {"1", "1Gi", "250m", "256Mi", "1Gi", 3, 10, 20, 5},
	"medium":    {"2", "2Gi", "500m", "512Mi", "5Gi", 6, 15, 25, 10},
	"large":     {"4", "4Gi", "500m", "512Mi", "10Gi", 12, 25, 35, 20},
	"x-large":   {"8", "8Gi", "500m", "512Mi", "20Gi", 18, 35, 45, 30},
	"xx-large":  {"8", "12Gi", "500m", "512Mi", "20Gi", 24, 45, 55, 40},
	"xxx-large": {"8", "16Gi", "500m", "512Mi", "20Gi", 30, 55, 65, 50},
}

// The same for every size, as in the reference: the least a pod or container may ask for,
// a container's request when it gives none, and the least a claim may ask for.
const (
	containerMinCPU        = "1m"
	containerMinMemory     = "1M"
	containerRequestCPU    = "50m"
	containerRequestMemory = "128Mi"
	claimMinStorage        = "1Gi"
)

// Names of the budget's objects in a session's namespace, as the reference names them.
const (
	LimitRangeName     = "resource-limits"
	QuotaName          = "compute-resources"
	QuotaTimeboundName = "compute-resources-timebound"
	QuotaCountsName    = "object-counts"
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
		return b, fmt.Errorf("unknown namespace budget %q: use one of %s, or custom for none", name, strings.Join(names, ", "))
	}
	return b, nil
}

// compute is the hard limit of the compute quotas: the limits of all the namespace's pods
// together. The reference applies it twice, to long-running pods (NotTerminating) and to
// pods with a deadline (Terminating), so jobs cannot starve deployments.
func (b budget) compute() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceLimitsCPU:    resource.MustParse(b.CPU),
		corev1.ResourceLimitsMemory: resource.MustParse(b.Memory),
	}
}

// counts is the hard limit of the object-count quota.
func (b budget) counts() corev1.ResourceList {
	n := func(i int) resource.Quantity { return resource.MustParse(strconv.Itoa(i)) }
	return corev1.ResourceList{
		corev1.ResourcePersistentVolumeClaims: n(b.PVCs),
		corev1.ResourceReplicationControllers: n(b.ReplicationControllers),
		corev1.ResourceSecrets:                n(b.Secrets),
		corev1.ResourceServices:               n(b.Services),
	}
}

// limits is the LimitRange for b: a pod or a container may use at most the whole budget.
func (b budget) limits() []corev1.LimitRangeItem {
	q := resource.MustParse
	max := corev1.ResourceList{corev1.ResourceCPU: q(b.CPU), corev1.ResourceMemory: q(b.Memory)}
	min := corev1.ResourceList{corev1.ResourceCPU: q(containerMinCPU), corev1.ResourceMemory: q(containerMinMemory)}
	return []corev1.LimitRangeItem{
		{Type: corev1.LimitTypePod, Min: min, Max: max},
		{
			Type:           corev1.LimitTypeContainer,
			Min:            min,
			Max:            max,
			Default:        corev1.ResourceList{corev1.ResourceCPU: q(b.DefaultCPU), corev1.ResourceMemory: q(b.DefaultMemory)},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: q(containerRequestCPU), corev1.ResourceMemory: q(containerRequestMemory)},
		},
		{
			Type: corev1.LimitTypePersistentVolumeClaim,
			Min:  corev1.ResourceList{corev1.ResourceStorage: q(claimMinStorage)},
			Max:  corev1.ResourceList{corev1.ResourceStorage: q(b.Storage)},
		},
	}
}
