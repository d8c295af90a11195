#!/usr/bin/env bash
# Build the test control plane for the kubernetes provisioner tests from the Go module proxy:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (with its default
# stages). The binaries go to a cache folder outside the repository keyed on the versions;
# when they are all there this script does nothing.
#
#   scripts/kube-testenv-build.sh          # build if missing, print the folder
#   KUBE_TESTENV_KUBECTL=1 ...             # also build kubectl (optional, for debugging)
#
# The tests find the folder the same way (internal/kubetest) or through PORTAL_KUBE_TESTENV_BIN.
# Cold build: about 12 minutes on 2 idle cores and 2.7 GB of RAM (27 minutes measured with
# etcd already cached, on 2 cores shared with other builds); nothing when cached. The test
# packages that use it start it in 7 to 13 s.
set -euo pipefail

K8S=1.37.2
ETCD=3.7.3
KWOK=0.8.0
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/portal-tools
OUT=${PORTAL_KUBE_TESTENV_BIN:-$CACHE_ROOT/kube-$K8S-etcd-$ETCD-kwok-$KWOK/bin}

bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwok-stages.yaml)
[ "${KUBE_TESTENV_KUBECTL:-}" = 1 ] && bins+=(kubectl)
missing=()
for b in "${bins[@]}"; do [ -s "$OUT/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
	echo "$OUT"
	exit 0
fi
echo "building into $OUT: ${missing[*]}" >&2

# Build outside the repository in throwaway wrapper modules, so nothing here reads or
# changes the portal's go.mod, go.sum or vendor state.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local
mkdir -p "$OUT"
T0=$SECONDS
step() { echo "$1 done: $((SECONDS - T0)) s" >&2; }
# Each binary is built to a temporary name and renamed, so an interrupted run never leaves a
# truncated binary that the check above would take as done.
build() { # output, package, ldflags
	go build -trimpath -ldflags "$3" -o "$OUT/.$1.tmp" "$2"
	mv -f "$OUT/.$1.tmp" "$OUT/$1"
	step "$1"
}

need() { [ ! -s "$OUT/$1" ]; }

if need etcd; then
	# server/v3 has relative replace directives, so `go install` refuses it; a wrapper works.
	mkdir -p "$WORK/etcd" && cd "$WORK/etcd"
	printf 'module testenv/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD" >go.mod
	printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
	go mod tidy
	build etcd go.etcd.io/etcd/server/v3 "-s -w"
fi

k8s=(kube-apiserver kube-controller-manager kube-scheduler)
[ "${KUBE_TESTENV_KUBECTL:-}" = 1 ] && k8s+=(kubectl)
todo=()
for c in "${k8s[@]}"; do need "$c" && todo+=("$c"); done
if [ ${#todo[@]} -gt 0 ]; then
	# k8s.io/kubernetes replaces its staging modules with relative paths; the wrapper
	# replaces each with its published v0.X.Y instead.
	MINOR=${K8S#*.}
	MINOR=${MINOR%%.*}
	STG=v0.${K8S#*.}
	mkdir -p "$WORK/k8s" && cd "$WORK/k8s"
	upstream=$(go mod download -json "k8s.io/kubernetes@v$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
	{
		printf 'module testenv/k8s\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S"
		sed -n '/^replace (/,/^)/p' "$upstream" | grep -E '^\s*k8s.io/' |
			awk -v v="$STG" '{print "\t" $1 " => " $1 " " v}' | grep -v -E 'sample-(cli-plugin|controller)'
		printf ')\n'
	} >go.mod
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		for c in "${todo[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
		printf ')\n'
	} >tools.go
	go mod tidy
	v=k8s.io/component-base/version
	LD="-s -w -X $v.gitVersion=v$K8S -X $v.gitMajor=1 -X $v.gitMinor=$MINOR -X $v.gitTreeState=clean"
	v=k8s.io/client-go/pkg/version
	LD="$LD -X $v.gitVersion=v$K8S -X $v.gitMajor=1 -X $v.gitMinor=$MINOR"
	for c in "${todo[@]}"; do build "$c" "k8s.io/kubernetes/cmd/$c" "$LD"; done
fi

if need kwok; then
	mkdir -p "$WORK/kwok" && cd "$WORK/kwok"
	GOFLAGS= GOBIN="$WORK/kwok/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK"
	mv -f "$WORK/kwok/bin/kwok" "$OUT/kwok"
	step kwok
fi

if need kwok-stages.yaml; then
	# The default stages ship in the kwok module zip.
	GOFLAGS= go mod download "sigs.k8s.io/kwok@v$KWOK" >/dev/null
	KD=$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK/kustomize/stage
	for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
		pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
		echo '---'
		cat "$KD/$f"
	done >"$OUT/.kwok-stages.yaml.tmp"
	mv -f "$OUT/.kwok-stages.yaml.tmp" "$OUT/kwok-stages.yaml"
fi
echo "control plane built in $((SECONDS - T0)) s" >&2
echo "$OUT"
