# Build helpers. `make run` and `make test` build the dashboard's browser assets first.
#
#   make assets   install xterm.js, the terminal's font (JetBrains Mono, SIL OFL 1.1) and the
#                 editor (Monaco) from npm (package-lock.json) when needed and copy them into
#                 dashboard/assets/dist,
#                 where the Go build embeds them
#   make run      assets, then build the portal and its dashboard binary static into BIN
#                 (default bin/) and run `portal serve`
#   make test     assets, then `go test ./...`; with RACE=1 the concurrency-heavy packages
#                 again under the race detector; with COVERDIR=dir the unit tests and the
#                 end-to-end tests' portal binary write coverage data to dir, summed up by
#                 `make cover-report COVERDIR=dir`
#   make fuzz     every `go test -fuzz` target for FUZZTIME each (default 10s), see .ci/fuzz
#   make mutate   mutation testing of the security- and capacity-critical packages with
#                 gremlins (pinned, installed when missing); see docs/testing.md

DIST  := dashboard/assets/dist
STAMP := node_modules/.package-lock.json
XTERM := node_modules/@xterm/xterm
FIT   := node_modules/@xterm/addon-fit
FONT  := node_modules/@fontsource/jetbrains-mono

# The terminal's font: the Latin subset, regular and bold, as WOFF2 (all current browsers).
FONTS := $(DIST)/jetbrains-mono-latin-400-normal.woff2 $(DIST)/jetbrains-mono-latin-700-normal.woff2

# The editor (Monaco, MIT): its AMD build's core, its file-type icons' font, its worker,
# and the syntax colouring of a few languages; the language services (JSON, CSS, HTML,
# JavaScript and TypeScript) and other languages are left out: their files are plain text.
MONACO := node_modules/monaco-editor/min/vs
MONACO_LANGS := yaml python shell go dockerfile markdown java ini xml
MONACO_FILES := loader.js editor/editor.main.js editor/editor.main.css base/worker/workerMain.js \
	base/browser/ui/codicons/codicon/codicon.ttf $(foreach l,$(MONACO_LANGS),basic-languages/$(l)/$(l).js)

ASSETS := $(DIST)/xterm.js $(DIST)/xterm.css $(DIST)/addon-fit.js $(DIST)/xterm-LICENSE.txt \
	$(FONTS) $(DIST)/jetbrains-mono-LICENSE.txt \
	$(addprefix $(DIST)/monaco/vs/,$(MONACO_FILES)) $(DIST)/monaco-LICENSE.txt

.PHONY: assets run test fuzz cover-report clean-assets bubblewrap slirp4netns hugo mutate

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

$(FONTS): $(DIST)/%: $(STAMP)
	@mkdir -p $(DIST)
	cp $(FONT)/files/$* $@

$(DIST)/monaco/vs/%.js: $(STAMP)
	@mkdir -p $(dir $@)
	sed '/^\/\/# sourceMappingURL=/d' $(MONACO)/$*.js > $@

$(DIST)/monaco/vs/%: $(STAMP)
	@mkdir -p $(dir $@)
	cp $(MONACO)/$* $@

$(DIST)/monaco-LICENSE.txt: $(STAMP)
	@mkdir -p $(DIST)
	cp node_modules/monaco-editor/LICENSE $@

$(DIST)/jetbrains-mono-LICENSE.txt: $(STAMP)
	@mkdir -p $(DIST)
	cp $(FONT)/LICENSE $@

# ARGS are passed to `portal serve`, e.g. make run ARGS="--config examples/registration-one-step.yaml".
ARGS ?=
# GOTESTFLAGS are passed to `go test`, e.g. make test GOTESTFLAGS="-run TestUsers -v".
GOTESTFLAGS ?=
# RACE=1 also runs RACE_PKGS, the packages whose tests exercise concurrency, with -race.
RACE ?=
RACE_PKGS := ./scheduler ./sqlstore ./web ./loadtest
# COVERDIR=dir collects coverage: the unit tests write their counters there, and so does
# the portal binary the end-to-end tests build with -cover (see cmd/portal's TestMain).
COVERDIR ?=
COVERABS := $(if $(COVERDIR),$(abspath $(COVERDIR)))

# The portal is built static (CGO_ENABLED=0), with the dashboard-only binary its sessions
# run beside it (cmd/portal-dashboard) and the terminals-only one of shared dashboards'
# terminals agents (cmd/portal-terminals): without the dynamic loader and libc, and without
# the portal's store and scheduler (or the dashboard's pages) to initialise, each session
# start, and each first terminal, costs less CPU.
BIN ?= bin
run: assets bubblewrap slirp4netns hugo
	CGO_ENABLED=0 go build -o $(BIN)/ ./cmd/portal ./cmd/portal-dashboard ./cmd/portal-terminals
	$(BIN)/portal serve $(ARGS)

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

# Sessions get outbound network access through slirp4netns when the portal runs with
# --session-egress: install it when missing (as root, with apt-get), or say how.
slirp4netns:
	@command -v slirp4netns >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing slirp4netns (outbound network access for sessions)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slirp4netns >/dev/null; \
	  else \
	    echo "slirp4netns is missing: install it (sudo apt-get install slirp4netns) to run with ARGS=--session-egress"; \
	  fi; }

# Workshops of the Hugo layout (no workshop.yaml or modules.yaml) are built by hugo in
# the sessions' dashboards: install it when missing (as root, with apt-get), or say how.
hugo:
	@command -v hugo >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing hugo (builds the instructions of Hugo-layout workshops)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo >/dev/null; \
	  else \
	    echo "hugo is missing: install it (sudo apt-get install hugo) to serve workshops of the Hugo layout"; \
	  fi; }

test: assets
ifeq ($(COVERABS),)
	go test $(GOTESTFLAGS) ./...
else
	rm -rf $(COVERABS) && mkdir -p $(COVERABS)
	go test -cover $(GOTESTFLAGS) ./... -args -test.gocoverdir=$(COVERABS)
endif
ifneq ($(RACE),)
	go test -race $(GOTESTFLAGS) $(RACE_PKGS)
endif

# One coverage figure for the unit and end-to-end tests together, from COVERDIR.
cover-report:
	@test -n "$(COVERABS)" || { echo "usage: make cover-report COVERDIR=dir"; exit 1; }
	go tool covdata percent -i=$(COVERABS)
	go tool covdata textfmt -i=$(COVERABS) -o $(COVERABS).out
	@go tool cover -func=$(COVERABS).out | tail -n 1

# FUZZTIME is the budget of each fuzz target, e.g. make fuzz FUZZTIME=1m.
FUZZTIME ?= 10s

fuzz: assets
	FUZZTIME=$(FUZZTIME) ./.ci/fuzz

# MUTATE selects targets (ticket web sqlstore localproc scheduler; default all), e.g.
# make mutate MUTATE="ticket web". MUTATE_BUDGET, MUTATE_DIFF... are read by .ci/mutate.
MUTATE ?=
mutate: assets
	.ci/mutate $(MUTATE)

clean-assets:
	rm -f $(ASSETS)
