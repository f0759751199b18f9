"""Settings for newsarchive, read from the environment with safe development defaults.

Every variable is listed in the README. With none set, the archive runs on a SQLite file and a
Whoosh index under `var/` in the project folder, so a newcomer needs no setup at all.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("NEWSARCHIVE_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"
)
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
