# The two commands of the README: `make run` and `make test`. Each does all set-up
# from a fresh clone: virtualenv, dependencies, PostgreSQL and Redis (embedded under
# var/ unless DATABASE_URL / REDIS_URL are set), migrations.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEPS := $(VENV)/.deps-installed
SERVICES_ENV := var/services.env
WITH_ENV := set -a && . ./$(SERVICES_ENV) && set +a &&
PYTEST_WORKERS ?= 2

.PHONY: run run-demo browser test lint format services migrate bench stop-services clean

$(DEPS): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

services: $(DEPS)
	@mkdir -p var
	@$(BIN)/python -m driftdetector.devservices env > $(SERVICES_ENV).tmp && mv $(SERVICES_ENV).tmp $(SERVICES_ENV)
	@$(WITH_ENV) $(BIN)/python manage.py preflight > /dev/null

migrate: services
	@$(WITH_ENV) $(BIN)/python manage.py migrate_schemas --verbosity 0

SIM_PORT ?= 8443
# The demo inbox (notifications/inbox.py): its page lists every email, Slack, Teams and
# webhook message the demo's channels send.
INBOX_HTTP_PORT ?= 8025
INBOX_SMTP_PORT ?= 1025
DEMO_MSP_TENANT_ID := a8ddce7c-ad9d-5ef9-b40b-b51910e6c4c4
SIM_URL := https://127.0.0.1:$(SIM_PORT)
# The demo talks to the local Azure simulator (azuresim), never to Azure.
# "Sign in with Microsoft" in the demo: one app registration in the simulator; the MSP's
# own Entra tenant id is the one setup_demo derives (DEMO_MSP_TENANT_ID).
DEMO_ENV := AZURE_AUTHORITY_HOST=$(SIM_URL) AZURE_ARM_ENDPOINT=$(SIM_URL) \
	AZURE_GRAPH_ENDPOINT=$(SIM_URL) AZURE_CA_BUNDLE=$(CURDIR)/var/azuresim/ca.pem SIM_PORT=$(SIM_PORT) \
	ENTRA_CLIENT_ID=$${ENTRA_CLIENT_ID:-0b7e5d1c-3f5a-4c41-9d1e-6d656d6f0001} \
	ENTRA_CLIENT_SECRET=$${ENTRA_CLIENT_SECRET:-demo-entra-secret-for-azuresim} \
	ENTRA_MSP_TENANT_ID=$${ENTRA_MSP_TENANT_ID:-$(DEMO_MSP_TENANT_ID)} \
	NOTIFY_ALLOWED_NETWORKS=$${NOTIFY_ALLOWED_NETWORKS:-127.0.0.0/8} \
	NOTIFY_SMTP_URL=$${NOTIFY_SMTP_URL:-smtp://127.0.0.1:$(INBOX_SMTP_PORT)} \
	INBOX_HTTP_PORT=$(INBOX_HTTP_PORT) INBOX_SMTP_PORT=$(INBOX_SMTP_PORT) \
	DEMO_INBOX_URL=http://127.0.0.1:$(INBOX_HTTP_PORT)

WEB_ADDR ?= 127.0.0.1:8000

# A second `make run` says the demo already runs and exits cleanly (no second worker).
run: $(DEPS)
	@if $(BIN)/python -m driftdetector.devservices check-web $(WEB_ADDR); then \
		$(MAKE) --no-print-directory run-demo WEB_ADDR=$(WEB_ADDR); fi

# prometheus_client multiprocess mode: web, worker and beat write their series here and the
# web's /metrics sums them (README, "Metrics"); emptied at each start.
METRICS_DIR := $(CURDIR)/var/prometheus

run-demo: migrate
	@rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	@$(WITH_ENV) $(DEMO_ENV) WEB_ADDR=$(WEB_ADDR) $(BIN)/python manage.py setup_demo
	@$(WITH_ENV) WEB_ADDR=$(WEB_ADDR) $(BIN)/python manage.py ensure_msp_admin
	@$(WITH_ENV) $(DEMO_ENV) WEB_ADDR=$(WEB_ADDR) PATH="$(CURDIR)/$(BIN):$$PATH" DJANGO_DEBUG=$${DJANGO_DEBUG:-true} \
		LOG_FORMAT=$${LOG_FORMAT:-plain} PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(BIN)/honcho start -f Procfile

lint: $(DEPS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEPS)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser suite (tests/e2e) needs Chromium and chromedriver: installed with apt-get
# when missing and running as root; otherwise its tests are skipped, and this says so.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		echo "browser suite: $$(chromium --version 2>/dev/null | head -1) with chromedriver"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "browser suite: installing chromium and chromium-driver (apt-get)"; \
		{ timeout 300 apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
			|| { timeout 120 apt-get update -q >/dev/null 2>&1 \
				&& timeout 300 apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1; }; } \
			|| echo "browser suite: apt-get could not install them; the browser tests will be SKIPPED"; \
	else \
		echo "browser suite: chromium/chromedriver missing and not root; the browser tests will be SKIPPED"; \
	fi

test: lint services browser
	@$(WITH_ENV) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: migrate
	@$(WITH_ENV) $(BIN)/python bench/onboarding.py
	@$(WITH_ENV) $(BIN)/python bench/poll.py
	@$(WITH_ENV) $(BIN)/python bench/drift.py
	@$(WITH_ENV) $(BIN)/python bench/drift_passes.py
	@$(WITH_ENV) $(BIN)/python bench/latency.py
	@$(WITH_ENV) $(BIN)/python bench/notify.py
	@$(WITH_ENV) $(BIN)/python bench/api.py
	@$(WITH_ENV) $(BIN)/python bench/pages.py
	@$(WITH_ENV) $(BIN)/python bench/audit.py
	@$(WITH_ENV) $(BIN)/python bench/metrics.py
	@$(WITH_ENV) $(BIN)/python bench/fleet.py

stop-services:
	$(BIN)/python -m driftdetector.devservices stop

clean: stop-services
	rm -rf var $(VENV)
