# paperflow — everything starts from plain python3: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: install demo test test-fast lint typecheck bench clean

# compileall: an editable install leaves our own modules uncompiled, and where
# PYTHONDONTWRITEBYTECODE is set every command and parse worker compiled them again (~0.1 s).
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m compileall -q flows parsers warehouse bench > /dev/null
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the pinned working set

demo: $(STAMP)  ## run the whole pipeline on the bundled sample site
	$(BIN)/paperflow demo

test: $(STAMP)  ## the full test suite (real HTTP server, DuckDB files, Prefect runs)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check flows parsers warehouse tests bench

typecheck: $(STAMP)
	$(BIN)/mypy flows parsers warehouse

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) data .pytest_cache
