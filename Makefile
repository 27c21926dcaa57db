# WuffChat: `make run` and `make test` work from a fresh clone; both call `setup` when needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
GENERATED := gen/python/.generated
PROTOS := $(shell find protos -name '*.proto')

.PHONY: setup proto run test lint format migrate bench clean

setup: $(GENERATED)

# Dependencies: direct ones pinned in pyproject.toml, the whole tree in requirements.lock.
$(INSTALLED): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==26.3
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	echo "$(CURDIR)/gen/python" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/wuffchat-gen.pth"
	touch $@

# Generated code (Python, grpc, mypy stubs, buf image) is never edited by hand.
$(GENERATED): $(INSTALLED) $(PROTOS) scripts/protoc.py
	$(PY) scripts/protoc.py
	touch $@

proto: $(INSTALLED)
	$(PY) scripts/protoc.py
	touch $(GENERATED)

run: setup
	$(PY) -m server

migrate: setup
	$(PY) -m server migrate

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy server interceptors scripts clients/python/src
	$(BIN)/buf format --diff --exit-code protos
	cd protos && ../$(BIN)/buf lint ../build/wuffchat.binpb --path wuffchat

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/buf format -w protos

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf gen build $(VENV)
