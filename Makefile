# tscni: CNI plugin suite in one Bun-compiled multi-call binary.
#
#   make demo      a 3-node namespace cluster (agents, pods through libcni), a connectivity matrix; removed after
#   make deps      Debian packages the build and the tests need (idempotent)
#   make build     native addon, type check, compiled binary (dist/tscni)
#   make install   binary and one link per plugin into $(DESTDIR)$(PREFIX)
#   make test      unit tests, then integration and end-to-end tests (root)
#   make resilience  the agent-resilience tests with the full 60 s etcd outage (make test: 10 s)
#   make bench     start-up and plugin-chain latency against the reference plugins; node agent
#   make reliability  full fault injection (SIGKILL mid-ADD/DEL), soak, resilience and fuzzing, with figures (root)
#   make fuzz      malformed-input fuzzing, full run (FUZZ_COUNT cases of FUZZ_SEED; root)
#   make clean

PREFIX ?= /opt/cni/bin
DESTDIR ?=

BIN := dist/tscni
ADDON := native/build/Release/tscni_native.node
DRIVER := test/driver/bin/cnidriver
NODE_BIN := node_modules/.bin
# node-gyp builds against the headers of the Node that runs it (Debian's nodejs ships them).
NODE_DIR ?= $(shell dirname "$$(dirname "$$(command -v node)")")

SOURCES := $(shell find cmd cni native plugins ipam firewall agent tools -name '*.ts' -not -path '*/node_modules/*' 2>/dev/null) package.json tsconfig.json

# Build: iproute2 for the tests' oracle; Go and libcni 1.1.2 for the end-to-end driver; the
# reference plugins for interoperability and benchmarks; hyperfine for benchmarks; util-linux for
# unshare; gcc for the addon-loading tests' planted library; iptables and nftables for masquerade
# (bridge, agent); etcd for the agent's etcd lease store; iperf3 for the overlay benchmark; systemd
# for systemd-analyze (the agent's unit file is verified); podman, runc, containerd and
# busybox-static (the image the tests build) for the container runtime tests.
DEB_PACKAGES := iproute2 util-linux gcc g++ make python3 golang-go golang-github-appc-cni-dev \
	containernetworking-plugins hyperfine iptables nftables etcd-server etcd-client iperf3 systemd \
	podman runc containerd busybox-static time

# --compile-jit-policy: a CNI command is a burst of run-once code, which JIT compilation only slows
# (docs/performance.md); the agent restores the normal policy (cmd/main.ts).
BUN_FLAGS := --compile --splitting --format=esm --bytecode --minify --compile-jit-policy=100 \
	--no-compile-autoload-dotenv --no-compile-autoload-bunfig --no-compile-autoload-tsconfig --no-compile-autoload-package-json

.PHONY: all demo deps build native typecheck install uninstall test test-unit test-integration test-e2e resilience bench reliability fuzz clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		guard=""; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && guard=yes; \
		fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		status=$$?; \
		if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		exit $$status; \
	else echo "Debian packages present"; fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

native: $(ADDON)
$(ADDON): native/src/addon.cc native/binding.gyp node_modules/.package-lock.json
	cd native && ../$(NODE_BIN)/node-gyp rebuild --nodedir="$(NODE_DIR)"

typecheck: node_modules/.package-lock.json
	$(NODE_BIN)/tsc -p tsconfig.json

build: $(BIN)
$(BIN): $(SOURCES) $(ADDON) node_modules/.package-lock.json
	$(NODE_BIN)/tsc -p tsconfig.json
	$(NODE_BIN)/bun build $(BUN_FLAGS) cmd/tscni.ts --outfile $@

# The binary lists its own plugin names, so the links always match what it dispatches.
install: $(BIN)
	install -d "$(DESTDIR)$(PREFIX)"
	install -m 0755 $(BIN) "$(DESTDIR)$(PREFIX)/tscni.new"
	mv -f "$(DESTDIR)$(PREFIX)/tscni.new" "$(DESTDIR)$(PREFIX)/tscni"
	for plugin in $$($(BIN) plugins); do ln -sfn tscni "$(DESTDIR)$(PREFIX)/$$plugin"; done

uninstall:
	for plugin in $$($(BIN) plugins); do rm -f "$(DESTDIR)$(PREFIX)/$$plugin"; done
	rm -f "$(DESTDIR)$(PREFIX)/tscni"

$(DRIVER): test/driver/main.go
	cd test/driver && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$(CURDIR)/build/go-cache" \
		go build -o bin/cnidriver .

TALLY := build/test-tally.jsonl

# Every phase runs even when an earlier one fails; the last line is "N passed, N failed".
test: deps build $(DRIVER)
	@mkdir -p build && rm -f $(TALLY)
	@status=0; \
	TSCNI_TEST_TALLY=$(TALLY) TSCNI_TEST_PHASE=unit $(NODE_BIN)/mocha --config test/mocharc.unit.json || status=1; \
	TSCNI_TEST_TALLY=$(TALLY) TSCNI_TEST_PHASE=integration $(NODE_BIN)/mocha --config test/mocharc.integration.json || status=1; \
	TSCNI_TEST_TALLY=$(TALLY) TSCNI_TEST_PHASE=e2e $(NODE_BIN)/mocha --config test/mocharc.e2e.json || status=1; \
	node test/support/summary.mjs $(TALLY) unit integration e2e || status=1; \
	exit $$status

test-unit: node_modules/.package-lock.json
	$(NODE_BIN)/mocha --config test/mocharc.unit.json

test-integration: build
	$(NODE_BIN)/mocha --config test/mocharc.integration.json

test-e2e: build $(DRIVER)
	$(NODE_BIN)/mocha --config test/mocharc.e2e.json

# The agent-resilience scenario of the e2e phase with etcd down for 60 s instead of 10 s.
RESILIENCE_OUTAGE_SECONDS ?= 60
resilience: deps build $(DRIVER)
	TSCNI_RESILIENCE_OUTAGE_SECONDS=$(RESILIENCE_OUTAGE_SECONDS) $(NODE_BIN)/mocha --config test/mocharc.resilience.json

# Everything it makes lives in namespaces tscni-demo-<pid>-* and build/demo-*/, removed at the end,
# also on Ctrl-C or failure; the exit status is non-zero when a pod cannot reach another.
# DEMO_ARGS="--nodes 5 --pods-per-node 3" changes the cluster's size.
demo: deps build $(DRIVER)
	env -u NODE_EXTRA_CA_CERTS node --import=tsx demo/demo.ts $(DEMO_ARGS)

# Every benchmark runs even when an earlier one misses a target.
bench: deps build $(DRIVER)
	@status=0; \
	env -u NODE_EXTRA_CA_CERTS $(NODE_BIN)/tsx bench/startup.ts || status=1; \
	env -u NODE_EXTRA_CA_CERTS $(NODE_BIN)/tsx bench/chain.ts || status=1; \
	env -u NODE_EXTRA_CA_CERTS $(NODE_BIN)/tsx bench/agent.ts || status=1; \
	env -u NODE_EXTRA_CA_CERTS $(NODE_BIN)/tsx bench/runtimes.ts || status=1; \
	exit $$status

# Full runs of what `make test` samples: fault injection and soak (RELIABILITY_ARGS: see
# test/reliability/main.ts), then the full fuzz run once the fuzzer (test/fuzz) is in the tree.
# Each prints its figures; the last line says PASS or FAIL for all of them.
reliability: deps build $(DRIVER)
	@status=0; \
	env -u NODE_EXTRA_CA_CERTS $(NODE_BIN)/tsx test/reliability/main.ts $(RELIABILITY_ARGS) || status=1; \
	$(MAKE) --no-print-directory resilience || status=1; \
	if [ -f test/fuzz/run.ts ]; then $(MAKE) --no-print-directory fuzz || status=1; fi; \
	if [ $$status -eq 0 ]; then echo "reliability: PASS"; else echo "reliability: FAIL"; fi; \
	exit $$status

FUZZ_SEED ?= 1
FUZZ_COUNT ?= 10000

fuzz: deps build
	env -u NODE_EXTRA_CA_CERTS $(NODE_BIN)/tsx test/fuzz/run.ts --seed $(FUZZ_SEED) --count $(FUZZ_COUNT)

clean:
	rm -rf dist build native/build test/driver/bin
