# The two commands: `make run` and `make test`. See README.md.
SHELL := bash
GO ?= go
export GOFLAGS ?= -mod=mod

.PHONY: run run-oauth2 test test-short kratos hydra mailpit chromium axe build build-demo vet bench bench-ui clean

## run: start Mailpit, Kratos and Tandem locally with embedded SQLite (Ctrl-C stops them)
run: kratos mailpit build
	@./scripts/run.sh

## run-oauth2: make run plus Ory Hydra (Tandem's /login, /consent, /logout) and a demo OAuth2 app; prints its URL
run-oauth2: kratos hydra mailpit build build-demo
	@./scripts/run.sh --oauth2

## test: install what the tests need (Kratos, Hydra, Mailpit, Chromium, axe-core) and run the whole suite
test: kratos hydra mailpit chromium axe vet
	$(GO) test -count=1 -timeout 20m ./...

## test-short: unit tests only, no browser, no Kratos
test-short:
	$(GO) test -short -count=1 ./...

build:
	@mkdir -p .bin
	$(GO) build -o .bin/tandem ./cmd/tandem

build-demo:
	@mkdir -p .bin
	$(GO) build -o .bin/oauth2demo ./cmd/oauth2demo

kratos:
	@./scripts/install-kratos.sh

hydra:
	@./scripts/install-hydra.sh

mailpit:
	@./scripts/install-mailpit.sh

chromium:
	@./scripts/install-chromium.sh

axe:
	@./scripts/install-axe.sh

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

## bench: storage benchmarks (set TEST_POSTGRES_DSN for PostgreSQL)
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./devices/...

clean:
	rm -rf .bin/tandem .bin/oauth2demo data

## bench-ui: Tandem's login, settings and consent pages vs. the Ory endpoints they are built from, on loopback (BENCH_UI_FLAGS=-brand for a custom brand)
bench-ui: kratos hydra build
	$(GO) run ./cmd/benchui $(BENCH_UI_FLAGS)

## bench-hooks: the hook listener on loopback with SQLite and a real Kratos (on SQLite, then on the
## local PostgreSQL in a database of its own, dropped after; BENCH_POSTGRES_DSN names the server):
## warm, cold and Kratos-asked mixes, each 500/s open loop, then saturation
.PHONY: bench-hooks
bench-hooks: kratos
	$(GO) run ./cmd/benchhooks
