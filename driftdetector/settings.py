"""Django settings for the Azure Drift Detector, read from environment variables.

Every value that differs between a laptop, CI and production comes from the
environment (django-environ); the defaults are the development ones. The README's
"Configuration" section lists the variables.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import environ
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me" * 2)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Fernet keys (urlsafe base64, 32 bytes) for secrets at rest; the first encrypts, all
# decrypt, so a new key is put first and old ones kept until re-encrypted (README).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ="]
)

# "tenants" precedes "django_tenants" so its create_tenant / migrate_schemas commands win.
SHARED_APPS = [
    "tenants",
    "django_tenants",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "driftdetector.apps.DriftAdminConfig",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_prometheus",
    # Local accounts: password, email verification, reset, TOTP MFA, rate limits.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Entra ID sign-in (validates the id_token; records tid and oid).
    "social_django",
    # Also a tenant app: MSP staff's sign-in events are kept in the public schema.
    "auditlog",
    # MSP-wide notification rules and channels (their deliveries live in tenant schemas).
    "notifications.msp",
    "auditlog.fleet",
]
TENANT_APPS = [
    "configurations",
    "drift",
    "notifications",
    "auditlog",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
# SET search_path once per schema switch, not before every query: a detection pass is
# ~30 short queries, and the extra round trips were a third of its time.
TENANT_LIMIT_SET_CALLS = True
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenant schemas are cloned from this schema (kept migrated by migrate_schemas).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Hostname suffix for each tenant's Domain row (routing itself is by /t/<slug>/).
TENANT_DOMAIN_SUFFIX = env.str("TENANT_DOMAIN_SUFFIX", default="tenants.localhost")
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

MIDDLEWARE = [
    "driftdetector.logging.RequestContextMiddleware",
    "driftdetector.api.middleware.ApiGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "auditlog.context.AuditContextMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.EntraSignInErrorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.TenantPathMiddleware",
    # The request series the dashboard reads (django-prometheus's names, a few of them).
    "driftdetector.httpmetrics.RequestMetricsMiddleware",
]

ROOT_URLCONF = "driftdetector.urls"
TENANT_URLCONF = "driftdetector.urls_tenant"
TENANT_PATH_PREFIX = "t"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "driftdetector.wsgi.application"
ASGI_APPLICATION = "driftdetector.asgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/driftdetector")
}
# django-tenants' backend, skipping a SET search_path the kept connection already has.
DATABASES["default"]["ENGINE"] = "driftdetector.dbbackend"
# Off only to measure what metrics cost (bench/metrics.py): no business series, and
# neither the database nor the cache is wrapped by django-prometheus.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
# django-tenants wraps this engine: django-prometheus's PostgreSQL backend counts queries,
# errors and connections (by alias and vendor only).
ORIGINAL_BACKEND = (
    "django_prometheus.db.backends.postgresql"
    if METRICS_ENABLED
    else "django.db.backends.postgresql"
)
# A Unix-socket directory may be given percent-encoded as the host (libpq style).
DATABASES["default"]["HOST"] = unquote(str(DATABASES["default"].get("HOST", "")))
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
    "DATABASE_CONNECT_TIMEOUT", 5
)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# A kept connection (docker-compose keeps them 60 s) is safe with django-tenants: after
# every set_tenant the first cursor sends SET search_path unless driftdetector.dbbackend
# knows the connection already has that exact path; it forgets it on a rollback (also to
# a savepoint), a failed SET, close and reconnect, so a request never runs in the
# previous request's schema. No CONN_HEALTH_CHECKS: it costs a round trip per request;
# after a PostgreSQL restart each worker answers one 503 and reconnects.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379")
_REDIS_BASE = REDIS_URL.rstrip("/")
# driftdetector.rediscache: Django's Redis backend keeping one client per pool.
CACHES = {
    "default": {
        "BACKEND": (
            "driftdetector.cache.MeteredRedisCache"
            if METRICS_ENABLED
            else "driftdetector.rediscache.RedisCache"
        ),
        "LOCATION": f"{_REDIS_BASE}/{env.int('REDIS_CACHE_DB', 1)}",
        "KEY_PREFIX": "dd",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
    "sessions": {
        "BACKEND": "driftdetector.rediscache.RedisCache",
        "LOCATION": f"{_REDIS_BASE}/{env.int('REDIS_SESSION_DB', 2)}",
        "KEY_PREFIX": "dd-session",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_CACHE_ALIAS = "sessions"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
# Messages live in the (Redis) session, not a cookie: a new API token's one-time message
# must not travel in a readable cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

AUTH_USER_MODEL = "accounts.User"
# RolePermissionBackend grants role permissions and authenticates nobody: passwords go
# through allauth (rate limits, MFA), Entra ID through social-auth.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.RolePermissionBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "accounts.entra.EntraOAuth2",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth (local accounts; the break-glass path when Entra ID is down).
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}  # emails may repeat across customer tenants
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
# Failed logins: 10 a minute per client address, 5 per 5 minutes per account (allauth's
# defaults, stated so they are visible and tunable).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    "reset_password": "20/m/ip,5/m/key",
}
MFA_ADAPTER = "accounts.adapters.MFAAdapter"  # TOTP secrets encrypted at rest
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Azure Drift Detector"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="drift-detector@localhost")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# WhiteNoise serves STATIC_ROOT (collectstatic runs in the image build) under gunicorn,
# with compressed copies; no manifest, so a page never fails on a missing manifest entry.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    if env.bool("TRUST_X_FORWARDED_PROTO", default=False):  # only behind a proxy that sets it
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_HTTPONLY = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "driftdetector.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["driftdetector.api.filters.FilterBackend"],
    "DEFAULT_PARSER_CLASSES": ["driftdetector.api.parsers.StrictJSONParser"],
    # DRF's JSON bytes written by orjson (driftdetector/api/renderers.py), then the
    # browsable API as DRF's defaults have it.
    "DEFAULT_RENDERER_CLASSES": [
        "driftdetector.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "driftdetector.api.problems.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "driftdetector.api.throttling.TenantAwareThrottle",
        "driftdetector.api.throttling.WriteThrottle",
    ],
    # Per token (else user, else address) and tenant schema, in the Redis cache.
    "DEFAULT_THROTTLE_RATES": {
        "api": env.str("API_THROTTLE_RATE", default="6000/min"),
        "api_write": env.str("API_WRITE_THROTTLE_RATE", default="300/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# A verified API token is served from Redis for up to this long (accounts/tokencache.py);
# revoking it, or saving its user, role or tenant, drops it at once. 0: no cache.
API_TOKEN_CACHE_SECONDS = env.int("API_TOKEN_CACHE_SECONDS", default=60)
# Each worker keeps the tenant a /t/<slug>/ path names for this long (tenants/selectors.py);
# a tenant saved in the same worker is dropped at once, other workers see a deactivation
# within this time. 0: look the tenant up on every request.
TENANT_CACHE_SECONDS = env.float("TENANT_CACHE_SECONDS", default=5.0)

# OpenAPI 3 at /api/schema/; Swagger UI and Redoc from the sidecar's static files (offline).
SPECTACULAR_SETTINGS = {
    "TITLE": "Azure Drift Detector API",
    "DESCRIPTION": (
        "MSP-wide endpoints under /api/v1/, a tenant's endpoints under /t/{slug}/api/v1/. "
        "Authenticate with `Authorization: Bearer <token>` or a session. Errors are "
        "problem details (application/problem+json)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/(t/\{slug\}/)?api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"DeliveryStatusEnum": "notifications.choices.DeliveryStatus"},
}
# A request body above this is a 413 (settings documents are far smaller).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# Celery: Redis broker and results, one queue per pipeline so one cannot starve another.
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"{_REDIS_BASE}/{env.int('REDIS_BROKER_DB', 0)}"
)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "poll", "drift", "notify", "audit")]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "configurations.tasks.*": {"queue": "poll"},
    "drift.tasks.*": {"queue": "drift"},
    "notifications.tasks.*": {"queue": "notify"},
    "auditlog.tasks.*": {"queue": "audit"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One tenant's detection pass may hold a worker this long (soft: the pass is stopped and
# its report marked; hard: the worker process is replaced).
DRIFT_TASK_SOFT_TIME_LIMIT = env.int("DRIFT_TASK_SOFT_TIME_LIMIT", default=120)
DRIFT_TASK_TIME_LIMIT = env.int("DRIFT_TASK_TIME_LIMIT", default=150)
# A detection task that finds another pass of its tenant running comes back this much later.
DRIFT_DEFER_SECONDS = env.float("DRIFT_DEFER_SECONDS", default=5.0)
# A detection pass examines only the resources changed since the last pass while the
# baseline, rules, exceptions and detection code are unchanged; it compares every
# resource when one of them changed, and at least this often.
DRIFT_FULL_CHECK_SECONDS = env.int("DRIFT_FULL_CHECK_SECONDS", default=86400)
CELERY_BEAT_SCHEDULE = {
    # Sends deliveries whose next_attempt_at is due (retries, digests, after quiet hours).
    "notifications-sweep": {
        "task": "notifications.tasks.sweep_deliveries",
        "schedule": env.float("NOTIFY_SWEEP_SECONDS", default=10.0),
        # A sweep not started within its interval is dropped: the next one does its work.
        "options": {
            "queue": "notify",
            "expire_seconds": max(1, int(env.float("NOTIFY_SWEEP_SECONDS", default=10.0))),
        },
    },
}
CELERY_TIMEZONE = TIME_ZONE
# Workers log through LOGGING below (JSON with trace.id and the tenant), not Celery's format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Change watch (configurations/watch.py): a sweep every WATCH_SWEEP_SECONDS sends each due
# tenant's watch; it re-reads WATCH_OVERLAP_SECONDS before its watermark (late changes);
# a full pass that meets a running watch comes back WATCH_DEFER_SECONDS later.
WATCH_SWEEP_SECONDS = env.float("WATCH_SWEEP_SECONDS", default=5.0)
WATCH_OVERLAP_SECONDS = env.int("WATCH_OVERLAP_SECONDS", default=600)
WATCH_DEFER_SECONDS = env.float("WATCH_DEFER_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE["watch-sweep"] = {
    "task": "configurations.tasks.schedule_watches",
    "schedule": WATCH_SWEEP_SECONDS,
    "options": {"queue": "poll", "expire_seconds": max(1, int(WATCH_SWEEP_SECONDS))},
}

# Audit trail: Graph sign-ins / directory audits per tenant, and shipping to Elasticsearch.
AUDIT_SWEEP_SECONDS = env.float("AUDIT_SWEEP_SECONDS", default=30.0)
AUDIT_OVERLAP_MINUTES = env.int("AUDIT_OVERLAP_MINUTES", default=30)
AUDIT_INITIAL_HOURS = env.int("AUDIT_INITIAL_HOURS", default=24)
AUDIT_PAGE_SIZE = env.int("AUDIT_PAGE_SIZE", default=1000)
AUDIT_PURGE_BATCH = env.int("AUDIT_PURGE_BATCH", default=5000)
# ELK forwarding is off while ELK_URL is empty.
ELK_URL = env.str("ELK_URL", default="")
ELK_INDEX = env.str("ELK_INDEX", default="driftdetector-audit")
ELK_API_KEY = env.str("ELK_API_KEY", default="")
ELK_USERNAME = env.str("ELK_USERNAME", default="")
ELK_PASSWORD = env.str("ELK_PASSWORD", default="")
ELK_CA_BUNDLE = env.str("ELK_CA_BUNDLE", default="")
ELK_TIMEOUT = env.float("ELK_TIMEOUT", default=30.0)
ELK_BATCH_SIZE = env.int("ELK_BATCH_SIZE", default=1000)
ELK_FORWARD_SECONDS = env.float("ELK_FORWARD_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE.update(
    {
        # Sends each tenant's audit pass when its audit_interval_minutes has passed.
        "audit-sweep": {
            "task": "auditlog.tasks.schedule_audit_passes",
            "schedule": AUDIT_SWEEP_SECONDS,
            "options": {"queue": "audit", "expire_seconds": max(1, int(AUDIT_SWEEP_SECONDS))},
        },
        "audit-forward": {
            "task": "auditlog.tasks.forward_to_elk",
            "schedule": ELK_FORWARD_SECONDS,
            "options": {"queue": "audit", "expire_seconds": max(1, int(ELK_FORWARD_SECONDS))},
        },
        "audit-purge": {
            "task": "auditlog.tasks.purge_expired",
            "schedule": 3600.0,
            "options": {"queue": "audit", "expire_seconds": 3600},
        },
    }
)

# Azure endpoints: the public cloud by default, the local simulator in the demo and tests.
AZURE_AUTHORITY_HOST = env.str("AZURE_AUTHORITY_HOST", default="https://login.microsoftonline.com")
AZURE_ARM_ENDPOINT = env.str("AZURE_ARM_ENDPOINT", default="https://management.azure.com")
AZURE_GRAPH_ENDPOINT = env.str("AZURE_GRAPH_ENDPOINT", default="https://graph.microsoft.com")
AZURE_CA_BUNDLE = env.str("AZURE_CA_BUNDLE", default="") or None

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "driftdetector.logging.RequestContextFilter"}},
    "formatters": {
        # ECS field names, so Filebeat ships them to Elasticsearch as they are: the request
        # id is trace.id in the web, the task and (as x-ms-client-request-id) in Azure.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(tenant)s %(process)s",
            "timestamp": "@timestamp",
            "rename_fields": {
                "levelname": "log.level",
                "name": "log.logger",
                "request_id": "trace.id",
                "tenant": "labels.tenant",
                "process": "process.pid",
            },
            "static_fields": {"ecs.version": "8.11.0", "service.name": "azure-drift-detector"},
        },
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "azure": {"level": "WARNING"},
    },
}

# --- Metrics (/metrics for Prometheus; README "Metrics") ---
# Served to clients in these networks, or to any client with "Authorization: Bearer
# <METRICS_TOKEN>". Loopback is allowed by default only with DEBUG (make run): behind a
# reverse proxy on the same host every client would come from loopback.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else []
)
PROMETHEUS_EXPORT_MIGRATIONS = False
# Request latency buckets (driftdetector/httpmetrics.py; 11 instead of django-prometheus's 17).
PROMETHEUS_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))

# Collection: a pass's lock expires this long after its last page (a killed worker's pass
# is then marked failed by the next one).
POLL_LOCK_TTL_SECONDS = env.float("POLL_LOCK_TTL_SECONDS", default=300.0)
# Azure SDK retry / timeout knobs for collection passes.
AZURE_RETRY_TOTAL = env.int("AZURE_RETRY_TOTAL", default=4)
AZURE_RETRY_BACKOFF = env.float("AZURE_RETRY_BACKOFF", default=0.8)
AZURE_READ_TIMEOUT = env.float("AZURE_READ_TIMEOUT", default=60.0)
AZURE_MAX_THROTTLE_WAIT = env.float("AZURE_MAX_THROTTLE_WAIT", default=60.0)
# Share one Redis token bucket per principal across all workers (off only for benchmarks).
AZURE_SHARED_LIMITER = env.bool("AZURE_SHARED_LIMITER", default=True)
# "unknown" callers are looked up again in the Activity Log for this long after the change.
ACTIVITY_LATE_CALLER_WINDOW_HOURS = env.float("ACTIVITY_LATE_CALLER_WINDOW_HOURS", default=24.0)
# Skip resources whose hash did not move (off only to benchmark the naive deepdiff path).
COLLECTION_HASH_SHORT_CIRCUIT = env.bool("COLLECTION_HASH_SHORT_CIRCUIT", default=True)
# Activity Log events arrive late: after each pass, fill "unknown" callers of changes made
# within this many hours (capped at the Activity Log's 90-day retention).
ACTIVITY_LATE_CALLER_WINDOW_HOURS = env.float("ACTIVITY_LATE_CALLER_WINDOW_HOURS", default=24.0)


# --- Entra ID sign-in (social-auth) ---
# One multi-tenant app registration; the token's tid picks the tenant (the MSP's own tid,
# ENTRA_MSP_TENANT_ID, is the public tenant). The authority follows AZURE_AUTHORITY_HOST,
# so the demo and the tests sign in against azuresim.
ENTRA_CLIENT_ID = env.str("ENTRA_CLIENT_ID", default="")
ENTRA_MSP_TENANT_ID = env.str("ENTRA_MSP_TENANT_ID", default="")
SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_KEY = ENTRA_CLIENT_ID
SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_SECRET = env.str("ENTRA_CLIENT_SECRET", default="")
SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_TENANT_ID = "organizations"
SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_AUTHORITY_URL = (
    f"{AZURE_AUTHORITY_HOST.rstrip('/')}/organizations"
)
SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_DEFAULT_SCOPE = [
    "openid",
    "profile",
    "email",
    "offline_access",
]
SOCIAL_AUTH_VERIFY_SSL = AZURE_CA_BUNDLE or True
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_REDIRECT_IS_HTTPS = env.bool("SOCIAL_AUTH_REDIRECT_IS_HTTPS", default=not DEBUG)
SOCIAL_AUTH_LOGIN_REDIRECT_URL = LOGIN_REDIRECT_URL
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "accounts.entra.find_invited_user",
    "social_core.pipeline.social_auth.associate_user",
    "accounts.entra.update_user_from_token",
    "accounts.entra.record_sign_in",
)


# --- Notifications ---
# Outbound URLs (Slack, Teams, webhooks) pass an SSRF guard; these networks are allowed
# even though private (and may use plain http): the demo and tests set 127.0.0.0/8.
NOTIFY_ALLOWED_NETWORKS = env.list("NOTIFY_ALLOWED_NETWORKS", default=[])
NOTIFY_TIMEOUT_SECONDS = env.float("NOTIFY_TIMEOUT_SECONDS", default=10.0)
NOTIFY_MAX_RESPONSE_BYTES = env.int("NOTIFY_MAX_RESPONSE_BYTES", default=65536)
NOTIFY_CA_BUNDLE = env.str("NOTIFY_CA_BUNDLE", default="") or None
# Retries: exponential backoff with jitter from NOTIFY_RETRY_BASE_SECONDS up to
# NOTIFY_RETRY_MAX_SECONDS, NOTIFY_MAX_ATTEMPTS tries in all (~1 day by default).
NOTIFY_RETRY_BASE_SECONDS = env.float("NOTIFY_RETRY_BASE_SECONDS", default=5.0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=6 * 3600.0)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=16)
# Retries due within this many seconds go out as a countdown; later ones wait in the
# Delivery table for the sweep (never near the broker's visibility timeout).
NOTIFY_COUNTDOWN_MAX_SECONDS = env.float("NOTIFY_COUNTDOWN_MAX_SECONDS", default=60.0)
# A send claims its delivery for this long; a worker killed mid-send leaves it to the
# sweep after the lease (same webhook-id, so receivers drop the repeat). > the timeout.
NOTIFY_LEASE_SECONDS = env.float("NOTIFY_LEASE_SECONDS", default=60.0)
# How often the sweep looks for detection reports whose evaluation died with a worker.
NOTIFY_EVALUATION_SWEEP_SECONDS = env.int("NOTIFY_EVALUATION_SWEEP_SECONDS", default=60)
# A channel is disabled after a 410 or this many failed attempts in a row.
NOTIFY_DISABLE_AFTER_FAILURES = env.int("NOTIFY_DISABLE_AFTER_FAILURES", default=20)
NOTIFY_BASE_URL = env.str("NOTIFY_BASE_URL", default="http://127.0.0.1:8000")
# PagerDuty Events API v2 endpoint of pagerduty channels that give no URL of their own.
NOTIFY_PAGERDUTY_EVENTS_URL = env.str(
    "NOTIFY_PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue"
)
_NOTIFY_SMTP = env.url("NOTIFY_SMTP_URL", default="smtp://127.0.0.1:1025")
NOTIFY_SMTP_HOST = _NOTIFY_SMTP.hostname or "127.0.0.1"
NOTIFY_SMTP_PORT = _NOTIFY_SMTP.port or 25
NOTIFY_SMTP_USER = _NOTIFY_SMTP.username or ""
NOTIFY_SMTP_PASSWORD = _NOTIFY_SMTP.password or ""
NOTIFY_SMTP_STARTTLS = env.bool("NOTIFY_SMTP_STARTTLS", default=False)
NOTIFY_EMAIL_FROM = env.str("NOTIFY_EMAIL_FROM", default=DEFAULT_FROM_EMAIL)
# The local inbox of `make run` (python -m notifications.inbox), where the demo's channels point.
DEMO_INBOX_URL = env.str("DEMO_INBOX_URL", default="http://127.0.0.1:8025")
