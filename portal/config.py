"""Configuration classes; secrets come from instance/config.py or FLASK_* variables."""

import os

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105  (refused in production)


class Config:
    """Production defaults: safe, no secrets."""

    SECRET_KEY: str | None = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "sqlite:///portal.sqlite3"
    # pre_ping: a connection that died with a database restart is replaced before use, not used once and failed.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 3600}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    # Uploads larger than this are refused before they are read (413).
    MAX_CONTENT_LENGTH = 192 * 1024 * 1024  # a 200,000-row export and its items file
    # Spreadsheets (order export, items file, tracking-number reply, anomaly regions): checked before parsing.
    PORTAL_UPLOAD_MAX_ROWS = 200_000  # data rows of one file
    PORTAL_UPLOAD_MAX_COLUMNS = 200
    PORTAL_UPLOAD_MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
    PORTAL_UPLOAD_MAX_CELLS = 5_000_000  # an XLSX sheet's rows x columns: the reader holds them all at once
    PORTAL_UPLOAD_MAX_TEXT_MB = 256  # an XLSX's cell text, a shared string counted in every cell that shows it
    PORTAL_UPLOAD_MAX_UNCOMPRESSED_MB = 1024  # an XLSX's zip entries together, once inflated
    PORTAL_UPLOAD_MAX_ZIP_ENTRIES = 1_000  # an XLSX's files (10,000 sheets is an attack, not a shop)
    PORTAL_UPLOAD_MAX_ZIP_RATIO = 200  # inflated size over compressed size, per entry
    # Background jobs (import checks and applies): redis://... shared by every machine, else a SQLite file
    # (relative to instance/). Tests run each job inside the request that enqueues it.
    PORTAL_JOBS_URL: str | None = os.environ.get("PORTAL_JOBS_URL") or os.environ.get("REDIS_URL") or None
    # API bodies: larger is a 413, deeper nesting a 400, both before the JSON is parsed.
    PORTAL_API_MAX_BODY_MB = 8
    PORTAL_API_MAX_JSON_DEPTH = 32
    PORTAL_UPLOAD_DIR: str | None = os.environ.get("PORTAL_UPLOAD_DIR") or None  # default: instance/uploads
    WTF_CSRF_TIME_LIMIT = None
    RATELIMIT_ENABLED = True
    # Shared between workers with Redis (REDIS_URL); in memory each worker counts alone.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    PORTAL_LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
    # Failed sign-ins allowed before the form is locked for a while.
    PORTAL_LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    PORTAL_LOGIN_LIMIT_PER_ADDRESS = "20 per 15 minutes"
    # Labels one person may open by their QR code (services/reveal.py): a pile of photographed labels is not a list.
    PORTAL_REVEAL_LIMIT = "300 per hour"
    # The portal's address as seen from anywhere (https://portal.example.com), printed in each label's QR code:
    # the delivering outlet is in another city. Unset: the address the label was printed from.
    PORTAL_PUBLIC_URL: str | None = os.environ.get("PORTAL_PUBLIC_URL") or None
    PORTAL_INVITATION_HOURS = 72
    PORTAL_PAGE_SIZE = 50
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile).
    PORTAL_ARGON2_TIME_COST = 3
    PORTAL_ARGON2_MEMORY_COST = 65536
    PORTAL_ENV = "production"
    # Seconds a client is told to wait (Retry-After) when the database is unreachable or the portal is busy.
    PORTAL_RETRY_AFTER_SECONDS = 5
    # A request that queued longer than this for a worker (by the proxy's X-Request-Start) gets a 503 at once.
    PORTAL_MAX_QUEUE_MS = int(os.environ.get("PORTAL_MAX_QUEUE_MS") or 5000)
    # Anomaly detection (services/anomalies.py, `flask detect-anomalies`): an origin district is proposed when at
    # least MIN_ORDERS labelled or packed orders from MIN_SHOPS shops are past their ship-by, not picked up, and
    # its late share of the last DAY_HOURS rose over its 14-day baseline by MARGIN more than the rest of the
    # platform's did. A dismissed proposal returns within its window only when its overdue count grows REGROW-fold.
    PORTAL_ANOMALY_MIN_ORDERS = 20
    PORTAL_ANOMALY_MIN_SHOPS = 2
    PORTAL_ANOMALY_MARGIN = 0.25
    PORTAL_ANOMALY_DAY_HOURS = 24
    PORTAL_ANOMALY_REGROW = 1.5
    PORTAL_ANOMALY_WINDOW_HOURS = 48  # a proposal's window from now, when no declaration gives its end


class DevConfig(Config):
    """``make run`` on one machine over plain http."""

    SECRET_KEY = DEV_SECRET_KEY
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    PORTAL_ENV = "development"


class TestConfig(Config):
    """pytest: temp database, no CSRF, no rate limits, cheap hashing."""

    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    PORTAL_ARGON2_TIME_COST = 1
    PORTAL_ARGON2_MEMORY_COST = 1024
    PORTAL_JOBS_IMMEDIATE = True
    PORTAL_ENV = "testing"


CONFIGS = {"production": Config, "development": DevConfig, "testing": TestConfig}
