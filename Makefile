# The README's two commands are `make demo` and `make test`; each installs what it needs first.
.PHONY: install build clean-cli krm sea lib pglite crd docs test coverage demo bench image-sizes services e2e-kind

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

DIST ?= dist

# Type-check, then bundle the CLI into dist/ and the sidecar image's contents into dist/sidecar/ (what the
# container images run; no tsx at run time), and initdb's result for the embedded store into dist/pglite/;
# cli/build.ts says what each holds.
build: install clean-cli
	npx tsc -p tsconfig.json
	npx tsx cli/build.ts $(DIST)

# Only the bundle's own files (asya.js and its chunks): dist/krm, built by `make krm`, stays.
clean-cli:
	rm -f $(DIST)/*.js $(DIST)/*.js.map

# The KRM functions as self-contained executables (dist/krm/*.cjs) and kustomize legacy plugins
# (dist/krm/kustomize-plugins); see krm-functions/README.md.
krm: install
	npx tsx krm-functions/build.ts dist/krm

# The KRM functions as single executables that need no Node.js on the machine (Node's SEA: the bundle injected
# into a copy of the node binary running this, ~100-125 MB each): dist/sea/asya-inject-sidecar, asya-keda-scaler.
sea: install
	npx tsx krm-functions/sea.ts dist/sea

# The library entry points `asya/cdk8s` and `asya/krm` (package.json `exports`) as JS + .d.ts in dist/lib.
# The Python runtime goes beside them: krm-functions/runtime-script.ts reads it relative to its own file.
# `npm pack` runs `krm`, `lib` and `pglite` first (the `prepack` script), so the tarball always carries them.
lib: install
	rm -rf dist/lib
	npx tsc -p tsconfig.lib.json
	mkdir -p dist/lib/runtime/python && cp runtime/python/asya_runtime.py dist/lib/runtime/python/

# The embedded store's new data directory (gateway/store/pglite-template.ts), also part of `build`.
pglite: install
	npx tsx cli/build.ts dist pglite

# Regenerate the AsyncActor CRD from api/ (a test fails when the committed file is stale).
crd: install
	npx tsx api/crd/generate.ts

# Regenerate docs/configuration.md's settings tables from the declarations (a test fails when they are stale).
docs: install
	npx tsx cli/settings-docs.ts

services:
	./test/services.sh

test: install services
	node test/run.mjs

# The suite with v8 coverage, then line and branch coverage per component folder (docs/testing.md).
# Not part of .ci/run: coverage slows every test. The HTML report lands in coverage/index.html.
coverage: install services
	node test/run.mjs --coverage; status=$$?; node --import tsx test/runner/coverage-by-folder.ts; exit $$status

# The platform and examples/pipeline on a kind cluster, with KEDA, and one tool call (needs docker, kind,
# kubectl, helm and the internet; not part of the test suite, which has no Docker). See docs/testing.md.
e2e-kind: install
	./test/e2e-kind.sh

demo: build
	node bin/asya.js dev examples/pipeline --demo

# Every bench (bench/all.ts says which) 3 times, interleaved, with the load average of each run and the medians
# in bench/results/all-<time>/summary.md. Hours long; BENCH_ARGS="--quick --runs 1" is a short run.
BENCH_ARGS ?=
bench: build services
	npx tsx bench/all.ts $(BENCH_ARGS)

# What each image adds on top of its base, from the files its Dockerfile copies (no image is built here).
image-sizes: install
	npx tsx bench/images/run.ts
