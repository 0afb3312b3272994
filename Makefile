# Machiba: `make run` starts the portal with a demo city; `make test` runs every test.
# Both install what is missing first (Debian packages, .venv, Python packages).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: help bootstrap services prepare run test lint stop bench messages backup restore

help:
	@echo "make run    start the portal with a demo city at http://127.0.0.1:$(PORT)"
	@echo "make test   run the whole test suite against real PostgreSQL and Redis"
	@echo "make stop   stop what make run / make test started"
	@echo "make bench  run the benchmarks in bench/"

bootstrap:
	@bash cityhall/ops/bootstrap.sh

services: bootstrap
	@bash cityhall/ops/services.sh start

messages: bootstrap
	@$(PY) manage.py compilemessages --ignore='.venv' --ignore='var' -v 0

prepare: services messages
	@$(PY) manage.py migrate --noinput -v 0

run: prepare
	@$(PY) manage.py seed_demo
	@mkdir -p var/run
	@echo "Machiba is starting at http://127.0.0.1:$(PORT)/  (staff: http://127.0.0.1:$(PORT)/staff/)"
	@echo $$$$ > var/run/honcho.pid; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" exec $(VENV)/bin/honcho -f Procfile start

lint: bootstrap
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

test: services messages lint
	@$(PY) manage.py makemigrations --check --dry-run -v 1
	@$(VENV)/bin/pytest

bench: prepare
	@$(PY) bench/run_all.py

stop:
	@bash cityhall/ops/services.sh stop

backup: services
	@$(PY) manage.py backup

restore: services
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/machiba-….tar"; exit 2; }
	@$(PY) manage.py restore "$(FILE)"
