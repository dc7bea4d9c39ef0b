"""Ruralshop settings: one module, read from the environment.

Nothing configured gives the embedded setup (SQLite in ``var/`` and a Celery
broker on the file system, no server needed).  ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL and Redis.  Parsing is strict: a boolean
that is not one of the known spellings is an error, not ``False``.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class StrictEnv(environ.Env):
    """django-environ, but a misspelt boolean fails loudly."""

    def bool(self, var, default=environ.Env.NOTSET):  # noqa: A003 - mirrors Env API
        raw = self.str(var, default=None)
        if raw is None:
            if default is environ.Env.NOTSET:
                raise ImproperlyConfigured(f"Set the {var} environment variable")
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ImproperlyConfigured(f"{var}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


env = StrictEnv()

# development: make run; test: pytest; production: everything else (the default).
RURALSHOP_ENV = env.str("RURALSHOP_ENV", default="production")
if RURALSHOP_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"RURALSHOP_ENV={RURALSHOP_ENV!r}: use development, test or production")

DEBUG = env.bool("DEBUG", default=False)
# With DEBUG, an unknown URL still shows our 404 page (ruralshop.error_pages); false: Django's URL list.
DEBUG_404_PAGE = env.bool("DEBUG_404_PAGE", default=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if RURALSHOP_ENV == "production":
        raise ImproperlyConfigured("SECRET_KEY must be set outside development (RURALSHOP_ENV=production)")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if RURALSHOP_ENV != "production" else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# SQLite file, file-system broker and cache of the embedded setup; tests get their own.  Importing
# the settings creates nothing: the processes that write there create the folders (ruralshop.folders).
VAR_DIR = Path(
    env.str("RURALSHOP_VAR_DIR", default=str(BASE_DIR / "var" / ("test" if RURALSHOP_ENV == "test" else "")))
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from our own static files: stations may have no internet
    "import_export",
    "rest_framework_api_key",
    "django_filters",
    "django_celery_beat",
    "phonenumber_field",
    "partners",
    "notifications",  # the SMS outbox and the consent record; orders and logistics queue messages in it
    "catalog",  # sellers, products, prices, stock and its movements; orders build on it
    "orders",
    "cashbook",  # money at the counter: sales, refunds, the day's close, remittances to the county
    "integrity",  # the villager's say, for the county: call-backs, self-dealing signals, the review queue
    "logistics",
    "installations",  # home installation: the county's installers and their appointments
    "marketing",  # promotional SMS: campaigns to villagers who agreed to them (issue 20)
    "produce",  # produce upstream: villagers' lots, bought by the county, paid at the counter
    "county",  # the county manager's workspace and charts; the demo data (seed_demo), which reads every app
    "accounts",  # sessions that know their user: "log out everywhere"
    "csp",
    "axes",  # login lockout; its admin lists attempts and lockouts (delete one to unlock)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ruralshop.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Our 404 page for unknown URLs under DEBUG too; inside the CSP and the other headers' middleware.
    "ruralshop.error_pages.DebugNotFoundPageMiddleware",
    # Last, as axes asks: a lockout raised while authenticating becomes the login page with a message.
    "axes.middleware.AxesMiddleware",
]

# Not from the environment: only bench/settings.py serves bench.urls (with its bare reference endpoints).
ROOT_URLCONF = "ruralshop.urls"
WSGI_APPLICATION = "ruralshop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "partners.context_processors.station",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
if "DATABASE_URL" in env.ENVIRON:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "ruralshop.sqlite3",
            "OPTIONS": {
                # The web process, the worker and beat share one file: WAL lets
                # readers run beside a writer, and IMMEDIATE takes the write
                # lock when a transaction starts instead of failing half way
                # with "database is locked" when a read turns into a write.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
            # A file, not :memory:, so a Celery worker thread in the tests sees the same data;
            # SQLITE_TEST_NAME lets two suites run side by side in one checkout.
            "TEST": {"NAME": env.str("SQLITE_TEST_NAME", default=str(VAR_DIR / "test.sqlite3"))},
        }
    }
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if DATABASE_IS_POSTGRES and env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # Server-side parameters, and psycopg prepares a statement the second time
    # a connection runs it: PostgreSQL then skips parsing and planning the
    # same dozen statements of every placement (about -20 % per order, see
    # docs/PERFORMANCE.md).  Off behind a transaction-mode pooler (PgBouncer
    # < 1.21 cannot keep prepared statements): DATABASE_PREPARED_STATEMENTS=false.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=2)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cash book (cashbook/): a close whose drawer is off by more than this needs a note; the county's page
# warns of a station that has not closed for CASHBOOK_CLOSE_OVERDUE_DAYS, or holds more cash than
# CASHBOOK_CASH_HELD_ALERT (a robbery risk: remit it).
CASHBOOK_DIFFERENCE_NOTE_ABOVE = Decimal(env.str("CASHBOOK_DIFFERENCE_NOTE_ABOVE", default="10.00"))
CASHBOOK_CLOSE_OVERDUE_DAYS = env.int("CASHBOOK_CLOSE_OVERDUE_DAYS", default=2)
CASHBOOK_CASH_HELD_ALERT = Decimal(env.str("CASHBOOK_CASH_HELD_ALERT", default="10000.00"))

# --- Cache ----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by the web process and the worker, unlike the local-memory cache.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": VAR_DIR / "cache"}
    }

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if RURALSHOP_ENV == "test":
    # Hashing test users' passwords with PBKDF2 costs most of the suite's time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S303 - tests only
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username and IP before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout per username *and* IP: stations of one village share a NAT address, so
# an IP alone would let one station lock out the others, and a username alone
# would let anyone lock out a partner.  Only our own proxies' X-Forwarded-For is
# believed (ruralshop.bruteforce.client_ip): a forged header does not reset the count.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
# The cool-off runs from the last counted failure, so the page's "try again in 15 minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "ruralshop.bruteforce.client_ip"
AXES_LOCKOUT_CALLABLE = "ruralshop.bruteforce.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # shared by all web processes; unlock in the admin
# Proxies in front of the app that append to X-Forwarded-For (0: none, and the header is ignored).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if env.bool("BEHIND_TLS_PROXY", default=False) else 0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# Station PCs are shared: a session ends when the browser closes and after 8 idle hours.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = True
# Django's database sessions plus an indexed user column, so "log out everywhere"
# (the user menu, and an admin action on users) ends all of a user's sessions with one DELETE.
SESSION_ENGINE = "accounts.sessions"

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True  # stored in UTC, shown in TIME_ZONE
PHONENUMBER_DEFAULT_REGION = "CN"

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Precompressed (gzip and brotli) copies, served by WhiteNoise: pages stay small on a slow link.
    # Hashed names (ruralshop.static_storage) in production and under `make run` (bin/run sets
    # STATIC_HASHED): cached for good, a warm load fetches no static file.  The tests collect nothing,
    # so they use the plain names unless a test collects into a folder of its own.
    "staticfiles": {
        "BACKEND": "ruralshop.static_storage.HashedStaticFilesStorage"
        if env.bool("STATIC_HASHED", default=RURALSHOP_ENV == "production")
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}

# --- Uploaded files -----------------------------------------------------------
# Photos of missing or damaged parcels (logistics.photos).  They are private: no URL serves MEDIA_ROOT
# (MEDIA_URL stays unset); a view checks who asks and streams the file.  FileSystemStorage creates
# its folders on the first write, so importing the settings creates nothing.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# An upload larger than this is refused before Pillow opens it (a phone photo is 2-8 MB).
PARCEL_PHOTO_MAX_BYTES = env.int("PARCEL_PHOTO_MAX_BYTES", default=10 * 1024 * 1024)

# --- Security ---------------------------------------------------------------
# `manage.py check --deploy` passes with no warning given the recommended
# production environment (README, "Settings"): behind a TLS proxy,
#   BEHIND_TLS_PROXY=true SECURE_HSTS_SECONDS=31536000
#   SECURE_HSTS_INCLUDE_SUBDOMAINS=true SECURE_HSTS_PRELOAD=true
# A deployment that deliberately serves plain HTTP (a station reaching us on a
# LAN) says so explicitly (SECURE_SSL_REDIRECT=false, SECURE_HSTS_SECONDS=0,
# SECURE_COOKIES=false); only then is the matching deploy check silenced: an
# unset variable never hides a warning.


def _explicit(var: str) -> bool:
    return var in env.ENVIRON


BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    # Only behind a proxy that sets this header itself (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=BEHIND_TLS_PROXY)
# The container healthcheck (docker-compose.yml) asks over plain HTTP from inside, past the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
# HSTS is off unless asked for: once a browser has seen it, plain HTTP to this host stops working.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=RURALSHOP_ENV == "production")
CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page (hx-headers), not the cookie; Django's default
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "Lax"
SILENCED_SYSTEM_CHECKS = []
if _explicit("SECURE_SSL_REDIRECT") and not SECURE_SSL_REDIRECT:
    SILENCED_SYSTEM_CHECKS.append("security.W008")  # plain HTTP on purpose: no redirect to HTTPS
if _explicit("SECURE_HSTS_SECONDS") and not SECURE_HSTS_SECONDS:
    SILENCED_SYSTEM_CHECKS.append("security.W004")  # plain HTTP on purpose: no HSTS
if _explicit("SECURE_HSTS_INCLUDE_SUBDOMAINS") and not SECURE_HSTS_INCLUDE_SUBDOMAINS:
    SILENCED_SYSTEM_CHECKS.append("security.W005")  # other hosts of the domain still serve plain HTTP
if _explicit("SECURE_HSTS_PRELOAD") and not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")  # the domain is not submitted to the browsers' preload list
if _explicit("SECURE_COOKIES") and not SESSION_COOKIE_SECURE:
    SILENCED_SYSTEM_CHECKS += ["security.W012", "security.W016"]  # cookies must travel over plain HTTP

# Content-Security-Policy (django-csp) on every response: scripts, styles and
# images only from our own static files; no inline script, no inline style, no
# eval.  The templates have no <script> body, no on*= handler and no style=
# attribute (tests/ruralshop/test_security.py checks them); the QR code of a
# receipt is inline SVG markup, which needs no source.  data: images: the
# empty favicon of base.html and Swagger UI's icons (in its CSS).  No view
# needs an exception: /api/docs/ loads its start-up script from a URL
# (drf-spectacular's split view) and its page style from a file (ruralshop/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["ruralshop.api.ShallowJSONParser"],
    "EXCEPTION_HANDLER": "ruralshop.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"logistics": env.str("LOGISTICS_API_RATE", default="600/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ruralshop API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "BatchStatusEnum": "logistics.models.DeliveryBatch.Status",
        "ParcelStatusEnum": "logistics.models.Parcel.Status",
        "StopStatusEnum": "logistics.models.BatchStop.Status",
        "AppointmentStatusEnum": "installations.models.Appointment.Status",
        "FailReasonEnum": "installations.models.Appointment.FailReason",
        "ReturnReasonEnum": "orders.models.GoodsReturnLine.Reason",
    },
}

# --- Celery -----------------------------------------------------------------
# JSON only: a task message is data, never a pickled object.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE  # crontab schedules read in local time...
CELERY_ENABLE_UTC = True  # ...while every timestamp inside is UTC
# A hung task is killed, never left holding a worker slot (or a row lock) forever.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Redelivery waits this long for an unacknowledged task: longer than the
# hard time limit, or a slow task would run twice at once.
CELERY_VISIBILITY_TIMEOUT = 3600
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task does not lose it...
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ...the broker hands it out again
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False  # a real worker, also in development
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 24 * 3600
# Results are kept only where a task asks for them (ignore_result=False): storing
# them costs the Redis result backend a subscription per message sent.
CELERY_TASK_IGNORE_RESULT = True
# Phone numbers and texts of sent SMS are kept this long (for a villager's "did you text me?"), then scrubbed.
NOTIFICATION_RETENTION_DAYS = env.int("NOTIFICATION_RETENTION_DAYS", default=90)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Synced into the database by beat on start; edit them in the admin afterwards.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "ruralshop.tasks.heartbeat", "schedule": 60.0},
    "resend-stuck-notifications": {"task": "notifications.tasks.resend_stuck_notifications", "schedule": 300.0},
    "resend-stuck-webhooks": {"task": "logistics.tasks.resend_stuck_webhooks", "schedule": 300.0},
    "flag-uncollected-parcels": {
        "task": "logistics.tasks.flag_uncollected_parcels",
        "schedule": crontab(minute=0, hour=6),
    },
    # Produce bought but not received within its kind's keeping days: flagged once, the partner texted.
    "flag-overdue-produce": {
        "task": "produce.tasks.flag_overdue_lots",
        "schedule": crontab(minute=30, hour=6),
    },
    # Goods waiting at a station: the villager's SMS reminders (orders.CollectionPolicy), in the morning.
    "remind-uncollected-orders": {
        "task": "orders.tasks.remind_uncollected",
        "schedule": crontab(minute=0, hour=9),
    },
    # Tomorrow's installation appointments: the villager's reminder, at an hour SMS is welcome.
    "remind-installation-appointments": {
        "task": "installations.tasks.remind_appointments",
        "schedule": crontab(minute=0, hour=18),
    },
    "purge-old-notification-payloads": {
        "task": "notifications.tasks.purge_old_notification_payloads",
        "schedule": crontab(minute=15, hour=3),
    },
    # Orders the villager never agreed to: cancelled, their stock released, the partner told.
    "expire-unconfirmed-orders": {"task": "orders.tasks.expire_unconfirmed", "schedule": 900.0},
    # Promotional SMS due (marketing): batches of recipients, each claimed once; nothing in the quiet hours.
    "send-due-campaigns": {"task": "marketing.tasks.send_due_campaigns", "schedule": 60.0},
    # The self-dealing signals of this month (and last month, in its first days): orders flagged for review.
    "flag-self-dealing": {"task": "integrity.tasks.flag_counties", "schedule": crontab(minute=45, hour=1)},
    # After last month's return window has passed, so few returns land as clawbacks.
    "build-commission-statements": {
        "task": "orders.tasks.build_last_months_statements",
        "schedule": crontab(minute=30, hour=2, day_of_month=env.int("COMMISSION_STATEMENT_DAY", default=9)),
    },
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    # kombu's file-system transport: a real queue and a real worker process,
    # with no server to install.  One folder is both inbox and outbox.
    CELERY_BROKER_DIR = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = "file://" + str(VAR_DIR / "celery" / "results")

# --- Orders -----------------------------------------------------------------
ORDER_RETURN_WINDOW_DAYS = env.int("ORDER_RETURN_WINDOW_DAYS", default=7)
# notifications.sms.ConsoleBackend writes messages to the log; notifications.sms.HttpGatewayBackend posts them.
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.sms.ConsoleBackend")
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
# Replies from villagers: the gateway POSTs them to /sms/inbound/ signed with HMAC-SHA256 of the body under
# this secret (header X-Signature).  Development's stand-in is ``manage.py sms_reply``, signing the same way.
# Unset in production, every reply is refused (no secret, no trust).
SMS_INBOUND_SECRET = env.str(
    "SMS_INBOUND_SECRET", default="" if RURALSHOP_ENV == "production" else "development-inbound-secret"
)
# An order whose villager has not agreed within this many hours is called off and its stock released.
ORDER_CONSENT_HOURS = env.int("ORDER_CONSENT_HOURS", default=48)

# Promotional SMS (marketing): at most this many per villager in any 7 days; a campaign of more recipients
# than this waits for the county's approval; none between 21:00 and 08:00 (TIME_ZONE): a send due then waits.
MARKETING_SMS_PER_WEEK = env.int("MARKETING_SMS_PER_WEEK", default=2)
MARKETING_APPROVAL_ABOVE = env.int("MARKETING_APPROVAL_ABOVE", default=200)
MARKETING_BATCH_SIZE = env.int("MARKETING_BATCH_SIZE", default=100)

# --- Logistics --------------------------------------------------------------

# Webhook endpoints must be https://, except in development and tests (a receiver on localhost).
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=RURALSHOP_ENV != "production")

# --- Logging ----------------------------------------------------------------
# No full phone number and no key in a log line or an error report: every
# handler runs ruralshop.logfilters.RedactFilter (138****5678, "Token [redacted]").
# Django's default handlers ("django" console and mail_admins, "django.server")
# are replaced below so that none of them logs around the filter, and the Celery
# worker logs through this same configuration (ruralshop/celery.py).
DEFAULT_EXCEPTION_REPORTER = "ruralshop.logfilters.RedactingExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "ruralshop.logfilters.RedactFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        # Errors e-mailed to ADMINS (none unless set), the report itself redacted by the reporter class.
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact", "require_debug_false"],
            "reporter_class": "ruralshop.logfilters.RedactingExceptionReporter",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Replaces Django's own handlers of these loggers (which would not redact).
        "django": {"handlers": ["mail_admins"], "propagate": True},
        "django.server": {"handlers": ["console"], "propagate": False},
        "py.warnings": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # redis-py gives this logger a bare StreamHandler of its own unless it exists already:
        # declared here, its records go through ours (and the redaction) instead.
        "push_response": {"handlers": [], "propagate": True},
    },
}

# django-import-export checks no permission unless told: without these, any staff user (a county
# manager with no admin permission) could export the catalog and stock, and import into them.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

ADMIN_SITE_HEADER = _("Ruralshop administration")
