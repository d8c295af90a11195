#!/bin/bash
# memory-portal.sh N [PORTAL]: the portal's own memory with N live sandboxed sessions.
#
# Starts `PORTAL serve` (default /tmp/memory/portal) with one workshop of N reserved
# sessions in a temporary data folder, waits until N dashboards listen, then prints the
# portal's RSS, PSS and threads; then stops the portal, kills the sessions' processes and
# removes their cgroups and the folder.
#
#   CGO_ENABLED=0 go build -o /tmp/memory/ ./cmd/portal ./cmd/portal-dashboard ./cmd/portal-terminals && scripts/memory-portal.sh 200
set -euo pipefail
n=${1:-200}
bin=${2:-/tmp/memory/portal}
dir=$(mktemp -d /tmp/memory-portal.XXXXXX)
port=$((20000 + RANDOM % 20000))
pid=

cleanup() {
	if [ -n "$pid" ]; then
		# A portal stopping many sessions at once may take minutes: it gets 10 s.
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	# Sessions outlive the portal: kill what is in their cgroups, then remove the groups.
	local h parents procs
	h=$(printf %s "$dir/data/sessions" | sha256sum | cut -c1-12)
	parents=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "portal-$h" 2>/dev/null)
	for parent in $parents; do
		for _ in $(seq 50); do
			procs=$(cat "$parent"/*/cgroup.procs 2>/dev/null || true)
			[ -z "$procs" ] && break
			kill -9 $procs 2>/dev/null || true
			sleep 0.2
		done
	done
	for parent in $parents; do
		rmdir "$parent"/*/ "$parent" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/portal.yaml" <<YAML
apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: memory
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: memory-workshop
    capacity: $n
    reserved: $n
    initial: $n
    expires: 60m
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: memory-workshop
spec:
  title: Memory
  description: Idle sessions
YAML

"$bin" serve --config "$dir/portal.yaml" --data-dir "$dir/data" --addr "127.0.0.1:$port" \
	--log-level warn >"$dir/portal.log" 2>&1 &
pid=$!
start=$SECONDS
while :; do
	ready=$( (ls "$dir"/data/sessions/*/run/addr 2>/dev/null || true) | wc -l)
	[ "$ready" -ge "$n" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then echo "the portal exited:"; cat "$dir/portal.log"; exit 1; fi
	if [ $((SECONDS - start)) -gt 900 ]; then echo "only $ready of $n sessions listen after 900 s"; exit 1; fi
	sleep 1
done
took=$((SECONDS - start))
sleep 15 # a few reconciler passes and health checks with every session ready
rss=$(awk '/^VmRSS/{print $2}' /proc/$pid/status)
threads=$(awk '/^Threads/{print $2}' /proc/$pid/status)
pss=$(awk '/^Pss:/{print $2}' /proc/$pid/smaps_rollup)
anon=$(awk '/^Pss_Anon:/{print $2}' /proc/$pid/smaps_rollup)
printf 'sessions %d (ready after %d s): portal RSS %.1f MB, PSS %.1f MB (anon %.1f MB), threads %d\n' \
	"$n" "$took" "$(echo "$rss/1024" | bc -l)" "$(echo "$pss/1024" | bc -l)" \
	"$(echo "$anon/1024" | bc -l)" "$threads"
