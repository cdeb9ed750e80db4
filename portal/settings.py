"""Settings for the fleetadmin portal.

Every setting that differs between a laptop and production is read here, once,
through django-environ. The defaults run locally with no configuration:
a SQLite file, a local-memory cache and DEBUG on.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

INSECURE_DEV_SECRET_KEY = "django-insecure-fleetadmin-local-development-only"  # noqa: S105 -- refused when DEBUG=0

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY to a long random value when DEBUG=0.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.postgres",  # trigram key search on PostgreSQL; inert on SQLite
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",
    "fleetadmin.accounts",
    "fleetadmin.fleet",
    "fleetadmin.audit",
    "fleetadmin.support",
    "fleetadmin.keys",
    "fleetadmin.billing",
    "fleetadmin.oauth",
    "fleetadmin.idp",
    "oauth2_provider",
    "fleetadmin.api",
    "fleetadmin.grpc",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    # Requests by view/method/status and their latency, when METRICS_ENABLED (portal/ops.py).
    "portal.ops.MetricsMiddleware",
    # NUL refused or stripped, over-limit bodies 413: before anything reads the request (portal/input_boundary.py).
    "portal.input_boundary.InputBoundaryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a second factor in this session (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # "Your sessions" bookkeeping, and the two-factor rules: an organization that requires it, the support console.
    "fleetadmin.accounts.middleware.AccountSecurityMiddleware",
    # Support staff on a customer page under a ticket-scoped grant: read-only, recorded in its audit log.
    "fleetadmin.support.middleware.SupportAccessMiddleware",
    # A view that loses the database connection answers 503, not 500 (portal/ops.py).
    "portal.ops.DatabaseUnavailableMiddleware",
    # DEBUG=1: a view's Http404 renders the portal's own 404 page (portal/middleware.py).
    "portal.middleware.PortalNotFoundMiddleware",
    # django-axes must come last so it sees the outcome of every sign-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "fleetadmin.fleet.context_processors.navigation",
            ],
        },
    },
]

# Database: a SQLite file by default; DATABASE_URL=postgres://... for PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock up front, so two writers
    # never both read the same audit-chain head and then race to append.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "fleet:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in throttling (django-axes): lock an address, or an account, after
# AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_MINUTES.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# One notion of "client address" for throttling and the audit log.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "fleetadmin.core.web.client_ip"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
# The portal ships in English only, and Django's English catalogue is the identity: the null translation gives
# the same words without a catalogue lookup per string ("3 days ago" on every row of a list, form errors) or a
# context-local language per URL reverse. Turn it on with LocaleMiddleware when translations ship.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security headers. The CSP has no 'unsafe-inline': the templates carry no
# inline script or style, and htmx is told not to inject its indicator CSS.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Database sessions (Django's format and table) whose per-request read is one written-out statement.
SESSION_ENGINE = "fleetadmin.accounts.session_store"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading HSTS commits every subdomain of the operator's domain to HTTPS in all
# browsers, for months; that is the operator's decision (SECURE_HSTS_PRELOAD=1), not a default.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    # The platform's OAuth apps may enable the implicit and password grants (its enum has them); they are
    # off unless an owner enables them on one app, and the UI marks them legacy. So they stay available.
    "oauth2_provider.W001",
    "oauth2_provider.W002",
    # http redirect URIs: fleetadmin.oauth.validation refuses http outside loopback (RFC 8252 native apps).
    "oauth2_provider.W008",
]
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Logs: LOG_FORMAT=text (the default, for `make run`) or json (one object a line, for a log pipeline).
# Every line carries the request id the response's X-Request-ID names (portal/log_format.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json; got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.log_format.RequestIdFilter"}},
    "formatters": {
        "text": {"()": "portal.log_format.PlainFormatter"},
        "json": {"()": "portal.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# Prometheus metrics at /metrics (portal/ops.py): off unless METRICS_ENABLED; then only for a caller with
# "Authorization: Bearer <METRICS_TOKEN>" and/or from METRICS_ALLOWED_NETWORKS (CIDRs). With several
# gunicorn workers set PROMETHEUS_MULTIPROC_DIR too (README, "Operations").
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
if METRICS_ENABLED and not (METRICS_TOKEN or METRICS_ALLOWED_NETWORKS):
    raise ImproperlyConfigured("METRICS_ENABLED needs METRICS_TOKEN or METRICS_ALLOWED_NETWORKS (or both).")

# API keys: values are stored only as HMAC-SHA256 under a pepper. API_KEY_PEPPERS lists
# "id:secret" pairs; new keys use API_KEY_PEPPER_ID, older ids keep verifying the keys
# made under them, so a pepper can be replaced without invalidating every key at once.
# With DEBUG on, the default derives one pepper from SECRET_KEY (fine for a laptop); DEBUG=0 refuses to
# start without API_KEY_PEPPERS, so that replacing SECRET_KEY never silently invalidates every API key.
API_KEY_PEPPERS = {
    pepper_id: secret
    for pepper_id, _, secret in (item.partition(":") for item in env.list("API_KEY_PEPPERS", default=[]))
}
if not API_KEY_PEPPERS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set API_KEY_PEPPERS (id:secret pairs, e.g. 1:<a long random value>) when DEBUG=0. An install that "
            "ran without it keeps its keys with API_KEY_PEPPERS=1:pepper-derived-from-secret-key:<its SECRET_KEY>."
        )
    API_KEY_PEPPERS = {"1": "pepper-derived-from-secret-key:" + SECRET_KEY}
API_KEY_PEPPER_ID = env.str("API_KEY_PEPPER_ID", default=next(iter(API_KEY_PEPPERS)))
# Failed API-key authentications allowed per client address per window before 429.
API_KEY_FAILURE_LIMIT = env.int("API_KEY_FAILURE_LIMIT", default=20)
API_KEY_FAILURE_WINDOW_SECONDS = env.int("API_KEY_FAILURE_WINDOW_SECONDS", default=300)

# Mail (fleetadmin.core.mail): EMAIL_URL is smtp://user:pass@host:587, smtp+tls://..., smtps://...,
# or consolemail:// (the default: messages are printed, which is what `make run` wants).
PORTAL_NAME = env.str("PORTAL_NAME", default="fleetadmin")
vars().update(env.email("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="fleetadmin <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Support access (fleetadmin.support): the form of a ticket reference support staff must state to open
# an organization, and how long the read-only access it grants lasts.
SUPPORT_TICKET_PATTERN = env.str("SUPPORT_TICKET_PATTERN", default=r"^[A-Z][A-Z0-9]*-\d+$")
# What the ticket field shows people instead of the pattern; it must match SUPPORT_TICKET_PATTERN.
SUPPORT_TICKET_EXAMPLE = env.str("SUPPORT_TICKET_EXAMPLE", default="ABC-123")
SUPPORT_GRANT_MINUTES = env.int("SUPPORT_GRANT_MINUTES", default=60)

# The OIDC provider for end users (fleetadmin.idp, on django-oauth-toolkit). Every organization is an
# issuer at <base>/oidc/<org-id>. id_tokens are signed RS256 with OIDC_RSA_PRIVATE_KEY (one PEM) or the
# key set in OIDC_SIGNING_KEYS_FILE (kept by `manage.py oidc_rotate_key`); with DEBUG on and neither
# set, a key file is generated outside the repository's tracked files. DEBUG=0 refuses to start without one.
OIDC_RSA_PRIVATE_KEY = env.str("OIDC_RSA_PRIVATE_KEY", default="")
OIDC_SIGNING_KEYS_FILE = env.str("OIDC_SIGNING_KEYS_FILE", default=str(BASE_DIR / ".oidc-keys.json") if DEBUG else "")
if not DEBUG and not (OIDC_RSA_PRIVATE_KEY or OIDC_SIGNING_KEYS_FILE):
    raise ImproperlyConfigured(
        "Set OIDC_RSA_PRIVATE_KEY or OIDC_SIGNING_KEYS_FILE (id_token signing key) when DEBUG=0."
    )
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth.DotApplication"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "idp.AccessToken"  # noqa: S105 -- a model name
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "idp.RefreshToken"  # noqa: S105 -- a model name
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "idp.IDToken"  # noqa: S105 -- a model name
OAUTH2_PROVIDER_GRANT_MODEL = "idp.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "idp.DeviceGrant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OAUTH2_VALIDATOR_CLASS": "fleetadmin.idp.oidc.Validator",
    "SCOPES": {"openid": "Sign you in", "email": "Your email address", "profile": "Your name"},
    "DEFAULT_SCOPES": ["openid"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OIDC_ACCESS_TOKEN_SECONDS", default=300),
    "ID_TOKEN_EXPIRE_SECONDS": env.int("OIDC_ID_TOKEN_SECONDS", default=300),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OIDC_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only; "plain" is refused
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # bearer tokens in the Authorization header only
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 `iss` in every authorization response
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # tokens stored hashed, like API keys and client secrets
    "DEVICE_FLOW_INTERVAL": 5,
    "PKCE_REQUIRED": True,  # the default; each application's pkce policy decides (idp.oidc.Validator)
}
# End-user sign-in throttle: failures per account and per client address within the window, then a lock.
END_USER_SIGN_IN_FAILURE_LIMIT = env.int("END_USER_SIGN_IN_FAILURE_LIMIT", default=5)
# Per address it is higher: many end users may share one address (an office, a carrier's NAT).
END_USER_SIGN_IN_ADDRESS_LIMIT = env.int("END_USER_SIGN_IN_ADDRESS_LIMIT", default=50)
END_USER_SIGN_IN_WINDOW_SECONDS = env.int("END_USER_SIGN_IN_WINDOW_SECONDS", default=900)
END_USER_SESSION_COOKIE = "fa_enduser"
END_USER_SESSION_DAYS = env.int("END_USER_SESSION_DAYS", default=14)
# Organizations and people (fleetadmin.fleet.members, fleetadmin.accounts).
# Who may create an organization from the organizations list: "anyone" signed in, or only "staff".
ORGANIZATION_CREATION = env.str("ORGANIZATION_CREATION", default="anyone")
if ORGANIZATION_CREATION not in {"anyone", "staff"}:
    raise ImproperlyConfigured(f"ORGANIZATION_CREATION must be anyone or staff; got {ORGANIZATION_CREATION!r}.")
# The portal's public address, for links in mail and in create_organization's output
# (e.g. https://fleet.example.com). Empty: links use the address the request came in on.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="").rstrip("/")
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
# Password reset and set-password links (create_organization) stay valid this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_HOURS", default=24) * 3600
# Reset requests allowed per client address, and mails per account, per PASSWORD_RESET_WINDOW_MINUTES.
PASSWORD_RESET_ADDRESS_LIMIT = env.int("PASSWORD_RESET_ADDRESS_LIMIT", default=10)
PASSWORD_RESET_ACCOUNT_LIMIT = env.int("PASSWORD_RESET_ACCOUNT_LIMIT", default=3)
PASSWORD_RESET_WINDOW_MINUTES = env.int("PASSWORD_RESET_WINDOW_MINUTES", default=60)
# Two-factor sign-in (django-otp): the issuer name authenticator apps show.
OTP_TOTP_ISSUER = PORTAL_NAME
# Support staff must have signed in with a second factor to open the support console.
SUPPORT_REQUIRE_TWO_FACTOR = env.bool("SUPPORT_REQUIRE_TWO_FACTOR", default=True)
# How long the step between password and code may take.
TWO_FACTOR_PENDING_SECONDS = env.int("TWO_FACTOR_PENDING_SECONDS", default=300)
