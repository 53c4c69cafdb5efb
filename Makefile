# The README's two commands are `make demo` and `make test`; each installs what it needs first.
.PHONY: install build test demo bench services

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

build: install
	npx tsc -p tsconfig.json

services:
	./test/services.sh

test: install services
	node test/run.mjs

demo: install
	node bin/asya.js dev examples/hello

bench: install services
	node bin/asya.js bench
