# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_CLAIMS ?= 200000
PORT ?= 8000

.PHONY: install lock demo port-free test lint format bench bench-scale notebooks docs clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# runtime libraries at the versions the Docker image installs (a model refuses others)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

lock: install  ## re-pin the runtime dependencies (requirements.lock) after changing pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --no-header --quiet -o requirements.lock

install: $(STAMP)  ## create .venv and install claimrisk with its dev tools

DEMO_DATA  := data/demo/claims.parquet
DEMO_MODEL := models/demo/model.joblib
#: The model is retrained only when the data or the code it is built from changed.
MODEL_CODE := $(shell git ls-files features training 2>/dev/null)

DEMO_X12   := data/demo-x12/remits_835.x12
DEMO_STORE := data/demo-store.db
DEMO_PASSWORD := claimrisk-demo

demo: install port-free $(DEMO_MODEL) $(DEMO_STORE)  ## synthesize, train, register, load the store, serve (PORT=8000)
	@echo ""
	@echo "Serving models:/claimrisk@champion on http://127.0.0.1:$(PORT) with the store $(DEMO_STORE)"
	@echo "Web app: http://127.0.0.1:$(PORT)/  (user demo, password $(DEMO_PASSWORD): a demo only)"
	@echo "(docs: /docs; no API key: demo only, every caller is a lead). The worklist:"
	@echo "  curl -s 'http://127.0.0.1:$(PORT)/v1/worklist?limit=5'   and   curl -s http://127.0.0.1:$(PORT)/v1/kpis"
	@echo "Score a claim from another terminal:"
	@echo "  $(BIN)/claimrisk example score | curl -s -X POST http://127.0.0.1:$(PORT)/v1/claims/score -H 'content-type: application/json' -d @-"
	@echo ""
	$(BIN)/claimrisk serve --model models:/claimrisk@champion --port $(PORT) --no-auth --db $(DEMO_STORE)

port-free:  ## fail at once, before minutes of training, when PORT is taken
	@$(BIN)/python -c "import socket; socket.socket().bind(('127.0.0.1', $(PORT)))" 2>/dev/null \
		|| { echo "port $(PORT) is busy: stop what listens there, or run: PORT=8001 make demo"; exit 1; }

$(DEMO_DATA): $(STAMP) $(wildcard features/generate/*.py)
	$(BIN)/claimrisk generate --claims $(DEMO_CLAIMS) --seed 7 --out data/demo
	$(BIN)/claimrisk validate data/demo

$(DEMO_MODEL): $(DEMO_DATA) $(MODEL_CODE)
	$(BIN)/claimrisk train --data data/demo --out models/demo
	$(BIN)/claimrisk promote --model models/demo --data data/demo

$(DEMO_X12): $(DEMO_DATA)
	$(BIN)/claimrisk export-x12 --data data/demo --out data/demo-x12

#: The practice's store: its 837s and 835s loaded, the worklist ranked and a monitoring pass kept as
#: of the world's last day.
$(DEMO_STORE): $(DEMO_X12) $(DEMO_MODEL)
	rm -f $(DEMO_STORE) $(DEMO_STORE)-wal $(DEMO_STORE)-shm
	$(BIN)/claimrisk db upgrade --db $(DEMO_STORE)
	$(BIN)/claimrisk db load --db $(DEMO_STORE) --x12 data/demo-x12 --model models/demo --as-of 2025-12-31
	$(BIN)/claimrisk user add demo --role lead --db $(DEMO_STORE) > /dev/null
	echo "$(DEMO_PASSWORD)" | $(BIN)/claimrisk user password demo --db $(DEMO_STORE)
	$(BIN)/claimrisk monitor --model models/demo --db $(DEMO_STORE) --as-of 2025-12-31 > /dev/null

test: install  ## lint, then every test (real fits, real files, real notebooks)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist worksteal

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## speed and memory benchmarks: prints a table, writes bench/results/*.json
	$(BIN)/python -m bench.generate
	$(BIN)/python -m bench.features
	$(BIN)/python -m bench.train
	$(BIN)/python -m bench.x12
	$(BIN)/python -m bench.edits
	$(BIN)/python -m bench.monitor
	$(BIN)/python -m bench.serve  # needs wrk (apt-get install wrk)
	$(BIN)/python -m bench.store  # needs PostgreSQL's initdb/pg_ctl (apt-get install postgresql)
	$(BIN)/python -m bench.web
	$(BIN)/python -m bench.replay

bench-scale: install  ## the Dask engine at 1M, 3M and 10M claims (hours; not in make bench or CI)
	$(BIN)/python -m bench.scale

notebooks: install  ## execute the notebooks on a small generated world; commit them with outputs
	$(BIN)/python notebooks/execute.py

docs: install  ## regenerate docs/data-contract.md and the calibration table
	$(BIN)/claimrisk docs

clean:
	rm -rf $(VENV) data mlruns .pytest_cache .ruff_cache bench/results
