# Two commands: `make demo` runs the main job on the bundled demo, `make test` runs the tests.
# Each creates (or reuses) the local virtual environment .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml scripts/setup.sh 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench setup clean mutate

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/mzgis demo demo-workspace

test: $(STAMP)
	$(BIN)/ruff check mzgis tests benchmarks
	$(BIN)/mypy mzgis
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_reach.py
	$(BIN)/python benchmarks/bench_coverage.py
	$(BIN)/python benchmarks/bench_map.py
	$(BIN)/python benchmarks/bench_siting.py
	$(BIN)/python benchmarks/bench_store.py
	$(BIN)/python benchmarks/bench_access.py

# mutation testing of mzgis/analysis (slow; not part of `make test`): see scripts/mutate.sh
mutate: $(STAMP)
	bash scripts/mutate.sh $(MODULES)

clean:
	rm -rf $(VENV) demo-workspace build *.egg-info mutants
