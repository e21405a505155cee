# The two commands of README.md: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3

.PHONY: run test install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/walletpass run

test: $(VENV)/.installed
	VENV=$(VENV) bash scripts/test.sh

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
