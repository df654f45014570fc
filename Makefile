# Set-up and everyday commands. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run sms-demo test lint typecheck bench migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: an unpinned torch pulls several GB of CUDA packages. Set TORCH_INDEX
# (e.g. PyTorch's CPU wheel index) where the default index would serve a CUDA build.
TORCH_INDEX ?=
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/peerchat serve --host $(HOST) --port $(PORT)

# The SMS channel end to end on one machine: the service, and beside it a stand-in for Twilio
# (python -m app.sms.standin) that plays the phone at http://$(HOST):$(SMS_PORT)/.
SMS_PORT ?= 8099
SMS_ENV := PEERCHAT_SMS_PROVIDER=twilio PEERCHAT_TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000 \
	PEERCHAT_TWILIO_AUTH_TOKEN=demo-auth-token PEERCHAT_SMS_NUMBER=+15005550006 \
	PEERCHAT_PUBLIC_URL=http://$(HOST):$(PORT) PEERCHAT_TWILIO_API_BASE=http://$(HOST):$(SMS_PORT)
sms-demo: $(VENV)/.installed
	$(SMS_ENV) sh -c '$(BIN)/python -m app.sms.standin serve --host $(HOST) --port $(SMS_PORT) & \
	  standin=$$!; trap "kill $$standin" EXIT INT TERM; \
	  $(BIN)/peerchat serve --host $(HOST) --port $(PORT)'

# Lint and types first (seconds), then the whole suite against real servers; then the model's
# tests again with torch limited to its AVX2 kernels, so that a fast CPU never hides a path
# that is slow on a common one (docs/model-card.md, "Runtime").
MODEL_TESTS := tests/nlp tests/monitoring
test: $(VENV)/.installed-dev
	$(BIN)/ruff check app nlp migrations tests bench
	$(BIN)/mypy app nlp tests
	$(BIN)/python -m pytest
	ATEN_CPU_CAPABILITY=avx2 $(BIN)/python -m pytest -q $(MODEL_TESTS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app nlp migrations tests bench
	$(BIN)/ruff format --check app nlp migrations tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy app nlp tests

# The benchmark suite (docs/benchmarks.md). BENCH_FLAGS=--quick for about a minute each.
BENCH_FLAGS ?=
bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	cd bench/baselines/socketio_node && npm ci --no-audit --no-fund --silent
	$(BIN)/python -m bench.ws_fanout $(BENCH_FLAGS)
	$(BIN)/python -m bench.ws_fanout --servers socketio,socketio_node,peerchat --rates 250,1000 \
	  --no-full --env PEERCHAT_MODEL_ENABLED=false --json docs/benchmarks/ws_fanout_model_off.json \
	  $(BENCH_FLAGS)
	$(BIN)/python -m bench.idle_cost $(BENCH_FLAGS)
	$(BIN)/python -m bench.connections $(BENCH_FLAGS)
	$(BIN)/python -m bench.alert_latency $(BENCH_FLAGS)
	$(BIN)/python -m bench.scale_out $(BENCH_FLAGS)
	$(BIN)/python bench/nlp_throughput.py
	$(BIN)/python -m bench.plots

migrate: $(VENV)/.installed
	$(BIN)/peerchat migrate

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
