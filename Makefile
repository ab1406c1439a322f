# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOUSEHOLDS ?= 2000
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

.PHONY: setup demo test lint bench serve clean messages

$(BIN)/jatigi: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $(BIN)/jatigi

setup: $(BIN)/jatigi

demo: setup
	$(BIN)/jatigi db upgrade
	$(BIN)/jatigi demo build --households $(HOUSEHOLDS) --reset
	JATIGI_USER=admin $(BIN)/jatigi dedup run
	# Example MEB and survival MEB per person per month (FCFA) for the demo's economic model.
	for model in food_security economic protection; do \
		JATIGI_USER=im.unhcr JATIGI_MEB=25000 JATIGI_SMEB=17500 $(BIN)/jatigi targeting score --model $$model || exit 1; \
	done
	$(BIN)/jatigi serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: setup
	$(BIN)/python -m pytest -n 2 -q

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: setup
	$(BIN)/python bench/run.py
	$(BIN)/python bench/web.py

serve: setup
	$(BIN)/jatigi serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Refresh the French catalogue from the source (new messages appear untranslated).
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --sort-output -o /tmp/jatigi-messages.pot .
	$(BIN)/pybabel update -i /tmp/jatigi-messages.pot -d src/jatigi/core/locales -l fr --no-fuzzy-matching
