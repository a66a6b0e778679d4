# Everything runs from a virtual environment this Makefile builds: only Python >= 3.10 and make are needed
# (the package supports 3.10 to 3.13; tests/test_wheel.py installs it under each one the machine has).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: setup spark demo test dbt-integration lint bench bench-dbt simulator clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[report,trigger,dagster]' --group dev
	touch $@

# Apache Spark for dbt (dbt-spark's session method): a venv of its own, as pyspark brings its own JVM libraries.
# Java comes from the OS (.ci/run installs Debian's default-jre-headless where it is missing).
spark: .venv-spark/.installed

.venv-spark/.installed: Makefile
	$(PYTHON) -m venv .venv-spark
	.venv-spark/bin/pip install --quiet --upgrade pip
	.venv-spark/bin/pip install --quiet 'dbt-core~=1.11.0' 'dbt-spark[session]~=1.11.0' 'pyspark~=3.5.0'
	touch $@

# `make test PYTEST_ARGS="tests/test_x.py --workers 4"`: a part of the suite, or another worker count
test: setup                    ## the whole suite: unit, simulator end-to-end, Meltano, PostgreSQL, DuckDB
	$(BIN)/ruff check .
	$(BIN)/python scripts/run_tests.py $(PYTEST_ARGS)

# The dbt package alone, on the seeds of transform/integration_tests (no tap run): DuckDB and a throwaway PostgreSQL
# (Spark, minutes, runs in `make test` where `make spark` was run).
dbt-integration: setup         ## dbt deps, seed and build of transform/integration_tests, expected answers compared
	$(BIN)/pytest tests/test_dbt_integration.py -p no:xdist -q --durations=2 -k 'not spark'

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

demo: setup                    ## simulator -> meltano run tap-kondado target-duckdb -> report
	$(BIN)/python scripts/demo.py

bench: setup                   ## pacing, CPU and memory; start_date seek; lookback cost; id memory; trigger idle check
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_seek.py
	$(BIN)/python benchmarks/lookback_cost.py
	$(BIN)/python benchmarks/bench_status_memory.py
	$(BIN)/python benchmarks/bench_trigger.py

bench-dbt: setup spark         ## the dbt package on 3.9 million logs: full and hourly builds, DuckDB, PostgreSQL, Spark
	MELTANO_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/meltano install utility dbt-duckdb dbt-postgres
	$(BIN)/python benchmarks/bench_health.py

simulator: setup               ## a local Kondado API on port 8765 until Ctrl-C
	$(BIN)/kondado-simulator --port 8765

clean:
	rm -rf $(VENV) .venv-spark .venv-dialects .meltano output .pytest_cache .ruff_cache .hypothesis dist build transform/target transform/logs transform/dbt_packages \
		transform/integration_tests/target transform/integration_tests/logs transform/integration_tests/dbt_packages
