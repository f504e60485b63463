# Tradeforge. A fresh machine needs only: make demo | make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TRADEFORGE_HOME ?= $(CURDIR)/.tradeforge

.PHONY: install demo test bench lint dagster mlflow clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	PORT=$(or $(PORT),8000) $(BIN)/python -m assets.demo
	TRADEFORGE_LIVE_SPEED=$(or $(LIVE_SPEED),60) TRADEFORGE_LIVE_TIMEFRAME=1h \
		$(BIN)/tradeforge serve --port $(or $(PORT),8000)

test: install
	$(BIN)/pytest -q -n $(or $(TEST_WORKERS),2) --dist loadfile --no-loadscope-reorder --durations=25

lint: install
	$(BIN)/ruff check pipelines assets serving tests benchmarks scripts
	$(BIN)/ruff format --check pipelines assets serving tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --upgrade pip
	.venv-bench/bin/pip install --quiet -e '.[bench]'
	.venv-bench/bin/python benchmarks/bench_data.py
	.venv-bench/bin/python benchmarks/bench_indicators.py
	.venv-bench/bin/python benchmarks/bench_models.py
	.venv-bench/bin/python benchmarks/bench_backtest.py
	.venv-bench/bin/python benchmarks/bench_sweep.py
	.venv-bench/bin/python benchmarks/bench_honest.py
	.venv-bench/bin/python benchmarks/bench_datasets.py
	.venv-bench/bin/python benchmarks/bench_market_data.py
	.venv-bench/bin/python benchmarks/bench_forecast.py
	.venv-bench/bin/python benchmarks/bench_serving.py
	.venv-bench/bin/python benchmarks/bench_predict_split.py
	.venv-bench/bin/python benchmarks/bench_bento.py
	.venv-bench/bin/python benchmarks/bench_workers.py
	.venv-bench/bin/python benchmarks/bench_celery.py
	.venv-bench/bin/python benchmarks/bench_health.py
	.venv-bench/bin/python benchmarks/bench_websocket.py
	.venv-bench/bin/python benchmarks/bench_trades.py
	.venv-bench/bin/python benchmarks/bench_cli.py
	.venv-bench/bin/python benchmarks/bench_runner.py
	.venv-bench/bin/python benchmarks/bench_live_strategies.py
	.venv-bench/bin/python benchmarks/bench_training.py

dagster: install
	$(BIN)/tradeforge dagster $(if $(PORT),--port $(PORT))

mlflow: install
	mlflow/server.sh $(if $(PORT),--port $(PORT))

clean:
	rm -rf $(VENV) .venv-bench .tradeforge .pytest_cache .mypy_cache .ruff_cache
