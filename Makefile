# WuffChat: `make run` and `make test` work from a fresh clone; both call `setup` when needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
GENERATED := gen/python/.generated
PROTOS := $(shell find protos -name '*.proto')
ENVOY_ENV = $(or $(APP_ENV),dev)

.PHONY: setup proto proto-baseline client run fleet envoy web system-packages test lint audit format migrate kb-load alerts-check bench clean image k8s-config k8s-check

setup: $(GENERATED)

# Dependencies: direct ones pinned in pyproject.toml, the whole tree in requirements.lock.
$(INSTALLED): pyproject.toml requirements.lock clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==26.3
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	# The Python client and its `wuffchat` command (its dependencies are the server's, already installed).
	$(PY) -m pip install --quiet --no-deps -e clients/python
	echo "$(CURDIR)/gen/python" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/wuffchat-gen.pth"
	touch $@

# Generated code (Python, grpc, mypy stubs, buf image) is never edited by hand.
# A copy made by `make client` is refreshed with it, so it never goes stale.
# buf.validate goes under the package's own namespace (wuffchat/_vendor), never a top-level `buf`.
CLIENT_SRC := clients/python/src
COPY_CLIENT_GEN = $(PY) -m scripts.client_gen
$(GENERATED): $(INSTALLED) $(PROTOS) scripts/protoc.py
	$(PY) scripts/protoc.py
	if [ -d $(CLIENT_SRC)/wuffchat ]; then $(COPY_CLIENT_GEN); fi
	touch $@

proto: $(INSTALLED)
	$(PY) scripts/protoc.py
	if [ -d $(CLIENT_SRC)/wuffchat ]; then $(COPY_CLIENT_GEN); fi
	touch $(GENERATED)

# The stand-alone client package: generated code copied beside wuffchat_client (git-ignored), so that
# `pip install ./clients/python` works; the wheel goes to dist/ (Python 3.11 to 3.13).
client: setup
	$(COPY_CLIENT_GEN)
	rm -rf clients/python/build  # setuptools would add what an older build left there
	$(PY) -m pip wheel --quiet --no-deps -w dist ./clients/python

# The server and, beside it, Envoy (browser chat on http://127.0.0.1:8080/ once `make web` has built it).
# The server believes x-forwarded-for from Envoy's address only (TRUSTED_PROXIES, default 127.0.0.1).
run: web
	$(PY) scripts/render_envoy.py --env $(ENVOY_ENV) >/dev/null
	$(BIN)/envoy -c build/envoy-$(ENVOY_ENV).yaml --disable-hot-restart --log-level warn & \
	trap 'kill $$! 2>/dev/null' EXIT; \
	TRUSTED_PROXIES=$${TRUSTED_PROXIES-127.0.0.1} $(PY) -m server

# FLEET_SIZE (default 3) server instances on ports FLEET_BASE_PORT.. (default 50061) behind one Envoy
# (ENVOY_ADDR, default 127.0.0.1:8080), sharing DATABASE_URL and REDIS_URL (local ones are started when
# unset); README "Several instances behind Envoy". Ctrl-C drains and stops all.
fleet: setup
	$(PY) -m scripts.fleet

# The edge proxy in front of the server: envoy.yaml rendered for APP_ENV (dev unless set) into build/.
envoy: setup
	$(PY) scripts/render_envoy.py --env $(ENVOY_ENV)
	$(BIN)/envoy -c build/envoy-$(ENVOY_ENV).yaml --disable-hot-restart --log-level warn

# The browser client: npm ci (from package-lock.json), TypeScript by `buf generate` (protos/buf.gen.yaml), esbuild bundle.
WEB := clients/web
$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# google/rpc/error_details.proto (ErrorInfo, BadRequest, RetryInfo) comes from the installed
# googleapis-common-protos wheel, generated beside our protos with the same plugin.
RPC_PROTOS = $(shell $(PY) -c 'import pathlib, google.rpc.error_details_pb2 as m; print(pathlib.Path(m.__file__).parent.parent.parent)' 2>/dev/null)
web: setup $(WEB)/node_modules/.installed
	cd protos && ../$(BIN)/buf generate
	cd protos && ../$(BIN)/buf generate $(RPC_PROTOS) --path $(RPC_PROTOS)/google/rpc/error_details.proto \
		--template '{"version":"v2","plugins":[{"local":"../$(WEB)/node_modules/.bin/protoc-gen-es","out":"../$(WEB)/src/gen","opt":["target=ts","import_extension=none"]}]}'
	cd $(WEB) && npm run --silent build

# The server and Envoy images (Dockerfile, deploy/envoy/Dockerfile) on a running Docker engine: the base is
# BASE_IMAGE, else the official python:3.11-slim-bookworm, else a debootstrap base; wheels from
# requirements.lock; both cached under build/image/ (scripts/image.py). Tags: SERVER_IMAGE, ENVOY_IMAGE.
DOCKERFILES := Dockerfile deploy/envoy/Dockerfile
image: web
	$(PYTHON) scripts/system_packages.py --for image
	$(PY) scripts/image.py

# Kubernetes (deploy/k8s, scripts/k8s.py): k8s-config renders the Envoy configuration each overlay mounts
# (after `make web`); k8s-check renders every overlay with `kubectl kustomize` and validates it against the
# Kubernetes schemas (kubernetes-validate, offline), and finds a stale envoy.yaml when the web client is built.
k8s-config: web
	$(PY) -m scripts.k8s envoy

k8s-check: setup
	$(PY) -m scripts.k8s check

migrate: setup
	$(PY) -m server migrate

# Create the Weaviate collection and load data/knowledge into it (WEAVIATE_URL, WEAVIATE_GRPC_PORT);
# re-running replaces it. Only for the Weaviate backend: the embedded default indexes at start.
kb-load: setup
	$(PY) -m server kb-load

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy rpc server interceptors scripts clients/python/src
	$(BIN)/buf format --diff --exit-code protos
	cd protos && ../$(BIN)/buf lint ../build/wuffchat.binpb --path wuffchat
	cd protos && ../$(BIN)/buf build && ../$(BIN)/buf breaking --against breaking-baseline.binpb
	$(BIN)/hadolint $(DOCKERFILES)
	$(MAKE) --no-print-directory k8s-check

# The image `buf breaking` compares against (make lint): renew it when a release is cut, never to silence
# a breaking change.
proto-baseline: setup
	cd protos && ../$(BIN)/buf build --exclude-source-info -o breaking-baseline.binpb

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/buf format -w protos

# The Debian packages the suite and `make web` need (chromium, postgresql, redis-server, nodejs, npm): installed
# with apt-get when missing and we are root, each install announced on the terminal (scripts/system_packages.py;
# `--dry-run` only says what it would install).
system-packages:
	$(PYTHON) scripts/system_packages.py

test: system-packages lint web
	$(PY) -m pytest $(PYTEST_ARGS)

# Known vulnerabilities of requirements.lock (pip-audit) and clients/web/package-lock.json (npm audit), and
# bandit over our code; one line per scanner. Findings fail; an unreachable vulnerability database prints
# "NOT CHECKED" and fails only with AUDIT_REQUIRE_DB=1 (scripts/audit.py).
audit: setup
	$(PY) scripts/audit.py

# Prometheus alert rules: promtool (Debian's prometheus package, unpacked into build/ by
# scripts/promtool.py) checks deploy/prometheus/alerts.yaml and runs its unit tests.
alerts-check: setup
	cd deploy/prometheus && $(CURDIR)/$(PY) $(CURDIR)/scripts/promtool.py check rules alerts.yaml
	cd deploy/prometheus && $(CURDIR)/$(PY) $(CURDIR)/scripts/promtool.py test rules alerts_test.yaml

# Load benchmarks; each prints a table (README "Benchmarks" lists the figures measured here).
bench: web
	$(PY) bench/triage.py
	$(PY) bench/yesno.py
	$(PY) -m bench.login
	$(PY) bench/chain.py
	$(PY) -m bench.conversation --encryption both
	$(PY) -m bench.conversation --observability compare --workers 1
	$(PY) -m bench.search
	$(PY) -m bench.edge
	$(PY) -m bench.fleet

clean:
	rm -rf gen build dist $(VENV) $(WEB)/node_modules $(WEB)/dist $(WEB)/src/gen $(CLIENT_SRC)/wuffchat $(CLIENT_SRC)/buf
