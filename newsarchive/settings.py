"""Settings for newsarchive, read from the environment with safe development defaults.

Every variable is listed in the README. With none set, the archive runs on a SQLite file and a
Whoosh index under `var/` in the project folder, so a newcomer needs no setup at all beyond
`make`, which writes a random secret key to `var/secret_key` on first use. With debug off and
no key at all, the site refuses to start rather than sign sessions with a public one.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


VAR_DIR = Path(os.environ.get("NEWSARCHIVE_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DJANGO_DEBUG", False)

# Used only with DJANGO_DEBUG on: it is public, so anything signed with it can be forged
# (`check --deploy` flags its "django-insecure-" prefix).
DEVELOPMENT_SECRET_KEY = "django-insecure-dev-only-key-set-DJANGO_SECRET_KEY-in-production"
# `make` writes a random key here on first use (never committed: var/ is ignored).
DEFAULT_SECRET_KEY_FILE = BASE_DIR / "var" / "secret_key"
MISSING_SECRET_KEY = (
    "DJANGO_SECRET_KEY is not set and DJANGO_DEBUG is off: refusing to run with the public "
    "development key. Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) to a long random value, "
    "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`; `make` writes "
    f"one to {DEFAULT_SECRET_KEY_FILE}. On a developer's machine DJANGO_DEBUG=true also works."
)


def read_secret_key() -> str:
    """DJANGO_SECRET_KEY, else the key file, else (debug only) the development key.

    Sessions, CSRF tokens and password-reset links are signed with it; a site running on a key
    published in its own source can have all three forged, so without one it does not start.
    """
    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()
    if key:
        return key
    named_file = os.environ.get("DJANGO_SECRET_KEY_FILE", "").strip()
    key_file = Path(named_file) if named_file else DEFAULT_SECRET_KEY_FILE
    try:
        key = key_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if named_file:
            message = f"DJANGO_SECRET_KEY_FILE names {key_file}, which does not exist."
            raise ImproperlyConfigured(message) from None
    if key:
        return key
    if DEBUG:
        return DEVELOPMENT_SECRET_KEY
    raise ImproperlyConfigured(MISSING_SECRET_KEY)


SECRET_KEY = read_secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "axes",
    "articles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "articles.middleware.SearchOutageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username + address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "newsarchive.urls"

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

WSGI_APPLICATION = "newsarchive.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers (the site) work while an import writes; IMMEDIATE transactions make a
    # second writer wait for the lock instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 60,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- HTTPS and security headers --------------------------------------------------------------
# Off by default, because `make run` serves plain HTTP on 127.0.0.1; a deployment behind HTTPS
# turns them on (README: "Running in production"). `check --deploy` is clean with them on.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets this header itself: otherwise a client could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The site's scripts and styles are local files (no inline <script>, no on*= attributes, no
# style attributes), so the policy allows nothing inline; the admin's templates are the same.
# django-csp rather than a hand-made header: per-view changes (csp_update), report-only mode
# and nonces come with it when a page needs them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- admin login throttling (django-axes) ------------------------------------------------------
# After this many wrong passwords for one username from one address, that pair is locked out
# (even with the right password) until the cool-off has passed since the last failure.
AXES_FAILURE_LIMIT = env_int("NEWSARCHIVE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("NEWSARCHIVE_LOGIN_COOLOFF_MINUTES", 15))
# The address is REMOTE_ADDR: behind a proxy every client has the proxy's, and the lock is in
# effect per username.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

# Read replicas (PostgreSQL standbys): GET requests read from one, writes go to the primary.
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URL", ""), start=1):
    DATABASES[f"replica_{_number}"] = dj_database_url.parse(
        _url, conn_max_age=DATABASES["default"].get("CONN_MAX_AGE", 0)
    )
    DATABASES[f"replica_{_number}"]["TEST"] = {"MIRROR": "default"}
if len(DATABASES) > 1:
    DATABASE_ROUTERS = ["newsarchive.replicas.ReplicaRouter"]
    MIDDLEWARE.insert(1, "newsarchive.replicas.ReadReplicaMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# The archive's time zone: naive `Published:` stamps in seed files are read in it.
TIME_ZONE = os.environ.get("NEWSARCHIVE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from static/ too, so `runserver`, tests and a fresh checkout need no
# collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

# --- newsarchive ---------------------------------------------------------------------------
# Where the Whoosh index lives; created on first use.
NEWSARCHIVE_INDEX_DIR = Path(os.environ.get("NEWSARCHIVE_INDEX_DIR", VAR_DIR / "index"))
# The search backend behind articles.search: "whoosh" (an index folder on this machine),
# "postgres" (PostgreSQL's full-text search; needs DATABASE_URL on PostgreSQL) or a class path.
NEWSARCHIVE_SEARCH_BACKEND = os.environ.get("NEWSARCHIVE_SEARCH_BACKEND", "whoosh")
# Seed files larger than this are rejected, so one huge file cannot exhaust memory.
NEWSARCHIVE_MAX_FILE_BYTES = int(os.environ.get("NEWSARCHIVE_MAX_FILE_BYTES", str(5 * 1024 * 1024)))
# How many files the importer writes per database transaction and index commit.
NEWSARCHIVE_IMPORT_BATCH_SIZE = int(os.environ.get("NEWSARCHIVE_IMPORT_BATCH_SIZE", "500"))
# Limits on admin uploads (.zip archives of seed files).
NEWSARCHIVE_UPLOAD_MAX_BYTES = int(
    os.environ.get("NEWSARCHIVE_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024))
)
NEWSARCHIVE_UPLOAD_MAX_FILES = int(os.environ.get("NEWSARCHIVE_UPLOAD_MAX_FILES", "20000"))
DATA_UPLOAD_MAX_NUMBER_FILES = NEWSARCHIVE_UPLOAD_MAX_FILES
# Exports of a search (CSV, JSON Lines) stop after this many rows and say so.
NEWSARCHIVE_EXPORT_MAX_ROWS = int(os.environ.get("NEWSARCHIVE_EXPORT_MAX_ROWS", "100000"))
# URLs per sitemap page (the sitemap protocol allows at most 50,000; see articles/sitemaps.py).
NEWSARCHIVE_SITEMAP_LIMIT = int(os.environ.get("NEWSARCHIVE_SITEMAP_LIMIT", "10000"))
# Story threads (articles/threads.py): two articles are versions of one story when the
# Jaccard similarity of their word shingles (runs of this many words, over at most
# the first NEWSARCHIVE_THREAD_MAX_WORDS words of title and body) is at least the threshold.
NEWSARCHIVE_THREAD_THRESHOLD = float(os.environ.get("NEWSARCHIVE_THREAD_THRESHOLD", "0.7"))
NEWSARCHIVE_THREAD_SHINGLE_WORDS = env_int("NEWSARCHIVE_THREAD_SHINGLE_WORDS", 3)
NEWSARCHIVE_THREAD_MAX_WORDS = env_int("NEWSARCHIVE_THREAD_MAX_WORDS", 300)
