package localproc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"portal"
)

// groups manages the control groups of one provisioner's sessions: one group per session,
// named after it, under a parent named after the provisioner's folder. Every method is
// safe to call for a group that does not exist.
type groups interface {
	// create makes the session's group (or keeps the one there) and sets its limits.
	create(name string, l Limits) error
	// prioritize gives the group the most CPU weight its siblings can have: whenever
	// its processes want the CPU they come before the sessions'.
	prioritize(name string) error
	// add moves process pid, and so every process it starts later, into the group.
	add(name string, pid int) error
	// procs lists the processes in the group.
	procs(name string) ([]int, error)
	// kill kills every process in the group and waits until it is empty.
	kill(name string) error
	// remove deletes the (empty) group.
	remove(name string) error
	// list returns the names of the groups under the parent.
	list() ([]string, error)
	// removeParent deletes the parent group if no session group is left in it.
	removeParent()
	// String says which cgroup version and where, for the operator.
	String() string
}

// killWait is how long kill waits for a group to empty.
const killWait = 5 * time.Second

// groupParent is the name of the parent group of the sessions of the provisioner whose
// folder is dir: several portals on one machine each sweep their own sessions only.
func groupParent(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "portal-" + hex.EncodeToString(sum[:6])
}

// newGroups returns the cgroup manager for this host: cgroup v2 in unified mode, cgroup
// v1 (memory, pids and cpu hierarchies) otherwise. Groups nest under the portal's own
// groups, so that the portal needs no more rights than over its own part of the tree. It
// tries a group once and says why that fails.
func newGroups(dir string) (groups, error) {
	parent := groupParent(dir)
	var g groups
	switch cgroups.Mode() {
	case cgroups.Unified:
		own, err := cgroup2.NestedGroupPath("")
		if err != nil {
			return nil, fmt.Errorf("find the portal's cgroup: %w", err)
		}
		if filepath.Base(own) == v2Leaf {
			own = filepath.Dir(own)
		}
		v2 := &groupsV2{mount: "/sys/fs/cgroup", parent: filepath.Join(own, parent)}
		if err := v2.leave(own); err != nil {
			return nil, fmt.Errorf("cgroup v2: %w", err)
		}
		g = v2
	case cgroups.Legacy, cgroups.Hybrid:
		v1, err := newGroupsV1(parent)
		if err != nil {
			return nil, err
		}
		g = v1
	default:
		return nil, errors.New("no cgroup file system is mounted at /sys/fs/cgroup")
	}
	probe := fmt.Sprintf("probe-%d", os.Getpid())
	err := g.create(probe, Limits{Memory: 64 << 20, CPU: 100, Processes: 16})
	if rmErr := g.remove(probe); err == nil && rmErr != nil {
		err = rmErr
	}
	g.removeParent()
	if err != nil {
		return nil, fmt.Errorf("cannot create cgroups (%s): %w", g, err)
	}
	return g, nil
}

// v1Controllers are the cgroup v1 hierarchies a session's group is made in.
var v1Controllers = []cgroup1.Name{cgroup1.Memory, cgroup1.Pids, cgroup1.Cpu}

// groupsV1 manages groups in the cgroup v1 hierarchies of v1Controllers.
type groupsV1 struct {
	parent string
	// subsystems are the hierarchies used; base maps each to the portal's own group in it.
	subsystems []cgroup1.Subsystem
	base       map[cgroup1.Name]string
	pidsRoot   string // mount point of the pids hierarchy
}

func newGroupsV1(parent string) (*groupsV1, error) {
	all, err := cgroup1.Default()
	if err != nil {
		return nil, fmt.Errorf("find the cgroup v1 hierarchies: %w", err)
	}
	own, err := cgroup1.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("find the portal's cgroup: %w", err)
	}
	g := &groupsV1{parent: parent, base: map[cgroup1.Name]string{}}
	for _, s := range all {
		for _, want := range v1Controllers {
			if s.Name() != want {
				continue
			}
			root := s.(interface{ Path(string) string }).Path("/")
			if _, err := os.Stat(root); err != nil {
				return nil, fmt.Errorf("cgroup v1 %s hierarchy: %w", want, err)
			}
			g.subsystems = append(g.subsystems, s)
			g.base[want] = own[string(want)]
			if want == cgroup1.Pids {
				g.pidsRoot = root
			}
		}
	}
	if len(g.subsystems) != len(v1Controllers) {
		return nil, fmt.Errorf("cgroup v1: need the %v hierarchies", v1Controllers)
	}
	return g, nil
}

func (g *groupsV1) String() string { return "cgroup v1, " + g.parent }

// path is the group's path in each hierarchy ("" = the parent).
func (g *groupsV1) path(name string) cgroup1.Path {
	return func(n cgroup1.Name) (string, error) {
		return filepath.Join("/", g.base[n], g.parent, name), nil
	}
}

func (g *groupsV1) hierarchy() ([]cgroup1.Subsystem, error) { return g.subsystems, nil }

func (g *groupsV1) load(name string) (cgroup1.Cgroup, error) {
	return cgroup1.Load(g.path(name), cgroup1.WithHierarchy(g.hierarchy))
}

func (g *groupsV1) create(name string, l Limits) error {
	period := uint64(cpuPeriod.Microseconds())
	quota := l.CPU * cpuPeriod.Microseconds() / 1000
	_, err := cgroup1.New(g.path(name), &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &l.Memory},
		Pids:   &specs.LinuxPids{Limit: &l.Processes},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
	}, cgroup1.WithHierarchy(g.hierarchy))
	if err != nil {
		return err
	}
	names, err := g.list()
	if err != nil {
		return err
	}
	parent, err := g.load("")
	if err != nil {
		return err
	}
	shares := uint64(parentWeight(len(names), 1024, maxShares))
	return parent.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares}})
}

// parentWeight is the CPU weight of the sessions' parent group when it holds n sessions:
// as much as n processes of the default weight one, so that a few sessions weigh against
// the rest of the machine as they would without cgroups and not as one process, but never
// more than one process per CPU. The sessions together can still use every CPU, yet a
// portal thread that wants the CPU gets at least half of one, however many sessions run:
// the portal's API is not starved while a class starts.
func parentWeight(n int, one, most int64) int64 {
	return min(most, one*int64(min(max(n, 1), runtime.NumCPU())))
}

func (g *groupsV1) prioritize(name string) error {
	c, err := g.load(name)
	if err != nil {
		return err
	}
	shares := uint64(maxShares)
	return c.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares}})
}

// maxShares and maxWeight are the largest CPU weights of cgroup v1 and v2.
const (
	maxShares = 262144
	maxWeight = 10000
)

func (g *groupsV1) add(name string, pid int) error {
	c, err := g.load(name)
	if err != nil {
		return err
	}
	return c.AddProc(uint64(pid))
}

func (g *groupsV1) procs(name string) ([]int, error) {
	return readProcs(filepath.Join(g.pidsRoot, g.base[cgroup1.Pids], g.parent, name))
}

func (g *groupsV1) kill(name string) error {
	return killAll(func() ([]int, error) { return g.procs(name) })
}

func (g *groupsV1) remove(name string) error {
	c, err := g.load(name)
	if errors.Is(err, cgroup1.ErrCgroupDeleted) || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.Delete()
}

func (g *groupsV1) removeParent() {
	for _, s := range g.subsystems {
		os.Remove(s.(interface{ Path(string) string }).Path(filepath.Join(g.base[s.Name()], g.parent)))
	}
}

func (g *groupsV1) list() ([]string, error) {
	return subdirs(filepath.Join(g.pidsRoot, g.base[cgroup1.Pids], g.parent))
}

// groupsV2 manages groups in the unified (v2) hierarchy.
type groupsV2 struct {
	mount  string // where cgroup2 is mounted
	parent string // the parent group's path in it
}

func (g *groupsV2) String() string { return "cgroup v2, " + g.parent }

func (g *groupsV2) group(name string) string { return filepath.Join(g.parent, name) }

func (g *groupsV2) create(name string, l Limits) error {
	period := uint64(cpuPeriod.Microseconds())
	quota := l.CPU * cpuPeriod.Microseconds() / 1000
	// NewManager enables the controllers on the way down to the group.
	_, err := cgroup2.NewManager(g.mount, g.group(name), &cgroup2.Resources{
		Memory: &cgroup2.Memory{Max: &l.Memory},
		Pids:   &cgroup2.Pids{Max: l.Processes},
		CPU:    &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)},
	})
	if err != nil {
		return err
	}
	names, err := g.list()
	if err != nil {
		return err
	}
	parent, err := cgroup2.Load(g.parent, cgroup2.WithMountpoint(g.mount))
	if err != nil {
		return err
	}
	weight := uint64(parentWeight(len(names), 100, maxWeight))
	return parent.Update(&cgroup2.Resources{CPU: &cgroup2.CPU{Weight: &weight}})
}

func (g *groupsV2) prioritize(name string) error {
	c, err := cgroup2.Load(g.group(name), cgroup2.WithMountpoint(g.mount))
	if err != nil {
		return err
	}
	weight := uint64(maxWeight)
	return c.Update(&cgroup2.Resources{CPU: &cgroup2.CPU{Weight: &weight}})
}

// v2Leaf is the group, below its own, that the portal moves its processes to on cgroup v2.
const v2Leaf = "portal-main"

// leave moves the processes of group own into its child v2Leaf: cgroup v2 enables
// controllers for the children of a group only when no process sits in the group itself
// (the root excepted).
func (g *groupsV2) leave(own string) error {
	if own == "/" {
		return nil
	}
	pids, err := os.ReadFile(filepath.Join(g.mount, own, "cgroup.procs"))
	if err != nil || len(bytes.TrimSpace(pids)) == 0 {
		return err
	}
	leaf := filepath.Join(g.mount, own, v2Leaf)
	if err := os.MkdirAll(leaf, 0o755); err != nil {
		return err
	}
	for _, pid := range strings.Fields(string(pids)) {
		err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(pid), 0)
		if err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("move process %s of %s to %s: %w", pid, own, leaf, err)
		}
	}
	return nil
}

func (g *groupsV2) load(name string) (*cgroup2.Manager, error) {
	return cgroup2.Load(g.group(name), cgroup2.WithMountpoint(g.mount))
}

func (g *groupsV2) add(name string, pid int) error {
	m, err := g.load(name)
	if err != nil {
		return err
	}
	return m.AddProc(uint64(pid))
}

func (g *groupsV2) procs(name string) ([]int, error) {
	return readProcs(filepath.Join(g.mount, g.group(name)))
}

func (g *groupsV2) kill(name string) error {
	if _, err := os.Stat(filepath.Join(g.mount, g.group(name))); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	m, err := g.load(name)
	if err != nil {
		return err
	}
	if err := m.Kill(); err != nil {
		return err
	}
	return killAll(func() ([]int, error) { return g.procs(name) })
}

func (g *groupsV2) remove(name string) error {
	if _, err := os.Stat(filepath.Join(g.mount, g.group(name))); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	m, err := g.load(name)
	if err != nil {
		return err
	}
	return m.Delete()
}

func (g *groupsV2) removeParent() { os.Remove(filepath.Join(g.mount, g.parent)) }

func (g *groupsV2) list() ([]string, error) {
	return subdirs(filepath.Join(g.mount, g.parent))
}

// cpuPeriod is the period of the CPU quota.
const cpuPeriod = 100 * time.Millisecond

// killAll sends SIGKILL to every process procs lists until it lists none, for at most
// killWait. A process forking meanwhile is caught by a later round; the group's process
// limit bounds how many there can be.
func killAll(procs func() ([]int, error)) error {
	deadline := time.Now().Add(killWait)
	for {
		pids, err := procs()
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes still run after SIGKILL", len(pids))
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readProcs reads the process ids in the group folder dir and in its descendants.
func readProcs(dir string) ([]int, error) {
	var out []int
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, os.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if errors.Is(err, os.ErrNotExist) && path != dir {
			return nil
		}
		if err != nil {
			return err
		}
		s := bufio.NewScanner(bytes.NewReader(b))
		for s.Scan() {
			if pid, err := strconv.Atoi(strings.TrimSpace(s.Text())); err == nil {
				out = append(out, pid)
			}
		}
		return nil
	})
	return out, err
}

// subdirs lists the folders in dir; a missing dir has none.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Purge kills every process in the session cgroups of the provisioner whose folder is dir
// and removes the groups. It is for cleaning up after portals whose sessions must not
// outlive them (tests); a host without usable cgroups has nothing to purge.
func Purge(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	g, err := newGroups(dir)
	if err != nil {
		return nil
	}
	names, err := g.list()
	var errs []error
	for _, name := range names {
		errs = append(errs, g.kill(name), g.remove(name))
	}
	g.removeParent()
	return errors.Join(append(errs, err)...)
}

// MemoryPSS returns the memory the session's processes use, as the sum of their
// proportional set sizes (shared pages divided among the processes sharing them), over
// every process in the session's cgroup. It fails for a workload without a cgroup.
// Pages of the session's tmpfs file systems (home, /tmp, /dev/shm) count only where mapped.
// A session served by its environment's dashboard host also counts its share of the
// host: the host's PSS divided by the number of sessions it serves.
func (p *Provisioner) MemoryPSS(ctx context.Context, b []byte) (int64, error) {
	h, err := parseHandle(b)
	if err != nil {
		return 0, err
	}
	if h.Cgroup == "" || p.groups == nil {
		return 0, fmt.Errorf("localproc: memory: the workload has no cgroup")
	}
	pids, err := p.groups.procs(h.Cgroup)
	if errors.Is(err, os.ErrNotExist) {
		return 0, portal.ErrGone
	}
	if err != nil {
		return 0, fmt.Errorf("localproc: memory: %w", err)
	}
	var total int64
	for _, pid := range pids {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		total += pss(pid)
	}
	if h.Shared != "" {
		share, err := p.sharedPSS(ctx, h)
		if err != nil {
			return 0, fmt.Errorf("localproc: memory: %w", err)
		}
		total += share
	}
	return total, nil
}

// pss reads the proportional set size of process pid in bytes (0 when it is gone).
func pss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) >= 2 && f[0] == "Pss:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
