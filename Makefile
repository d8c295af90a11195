# Build helpers. `make run` and `make test` build the dashboard's browser assets first.
#
#   make assets   install xterm.js from npm (package-lock.json) when needed and copy it into
#                 dashboard/assets/dist, where the Go build embeds it
#   make run      assets, then `go run ./cmd/portal serve`
#   make test     assets, then `go test ./...`
#   make mutate   mutation testing of the security- and capacity-critical packages with
#                 gremlins (pinned, installed when missing); see docs/testing.md

DIST  := dashboard/assets/dist
STAMP := node_modules/.package-lock.json
XTERM := node_modules/@xterm/xterm
FIT   := node_modules/@xterm/addon-fit

ASSETS := $(DIST)/xterm.js $(DIST)/xterm.css $(DIST)/addon-fit.js $(DIST)/xterm-LICENSE.txt

.PHONY: assets run test clean-assets bubblewrap mutate

assets: $(ASSETS)

# npm ci runs when node_modules is missing or package.json / package-lock.json is newer.
$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The UMD builds work as plain <script>s; the source-map comment is dropped because the
# maps are not shipped.
$(DIST)/xterm.js: $(STAMP)
	@mkdir -p $(DIST)
	sed '/^\/\/# sourceMappingURL=/d' $(XTERM)/lib/xterm.js > $@

$(DIST)/addon-fit.js: $(STAMP)
	@mkdir -p $(DIST)
	sed '/^\/\/# sourceMappingURL=/d' $(FIT)/lib/addon-fit.js > $@

$(DIST)/xterm.css: $(STAMP)
	@mkdir -p $(DIST)
	cp $(XTERM)/css/xterm.css $@

$(DIST)/xterm-LICENSE.txt: $(STAMP)
	@mkdir -p $(DIST)
	cp $(XTERM)/LICENSE $@

# ARGS are passed to `portal serve`, e.g. make run ARGS="--config examples/registration-one-step.yaml".
ARGS ?=
# GOTESTFLAGS are passed to `go test`, e.g. make test GOTESTFLAGS="-run TestUsers -v".
GOTESTFLAGS ?=

run: assets bubblewrap
	go run ./cmd/portal serve $(ARGS)

# Sessions run in a bubblewrap sandbox: install it when missing (as root, with apt-get), or
# say how. Without it `portal serve` refuses to start unless --allow-unsandboxed is given.
bubblewrap:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (sessions run in its sandbox)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "bubblewrap is missing: install it (sudo apt-get install bubblewrap), or run with ARGS=--allow-unsandboxed"; \
	  fi; }

test: assets
	go test $(GOTESTFLAGS) ./...

# MUTATE selects targets (ticket web sqlstore localproc scheduler; default all), e.g.
# make mutate MUTATE="ticket web". MUTATE_BUDGET, MUTATE_DIFF... are read by .ci/mutate.
MUTATE ?=
mutate: assets
	.ci/mutate $(MUTATE)

clean-assets:
	rm -f $(ASSETS)
