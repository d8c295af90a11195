#!/usr/bin/env bash
# Lint the portal's Dockerfiles with dockerfile-utils (the Dockerfile language service's
# linter, pure JavaScript, from npm), installed once into a cache folder outside the
# repository. Nothing is built: this machine has no container daemon.
#
#   scripts/lint-dockerfiles.sh [Dockerfile...]   # default: Dockerfile images/session/Dockerfile
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.16.3
cache="${XDG_CACHE_HOME:-$HOME/.cache}/portal-tools/dockerfile-utils-$VERSION"
bin="$cache/node_modules/.bin/dockerfile-utils"
if [ ! -x "$bin" ]; then
	mkdir -p "$cache"
	npm install --silent --no-audit --no-fund --no-save --prefix "$cache" "dockerfile-utils@$VERSION" >&2
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(Dockerfile images/session/Dockerfile)
status=0
for f in "${files[@]}"; do
	if out=$("$bin" lint "$f" 2>&1) && [ -z "$out" ]; then
		echo "ok   $f"
	else
		echo "FAIL $f"; echo "$out"; status=1
	fi
done
exit $status
