"""Typed settings read from ``WALLETPASS_*`` environment variables.

Every value is validated once at start-up; a wrong value raises ``SettingsError``
naming the variable, so an operator knows what to fix.
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from app.messaging_settings import MessagingSettings, MessagingSettingsError, messaging_settings

SOURCE_ROOT = Path(__file__).resolve().parent.parent
_BUNDLED = Path(__file__).resolve().parent / "_bundled"


def from_source_checkout() -> bool:
    """True when running from a clone (editable install), False from an installed wheel."""
    return (SOURCE_ROOT / "pyproject.toml").is_file() and (SOURCE_ROOT / "migrations").is_dir()


def resource_dir(name: str) -> Path:
    """A folder that ships with the code (``migrations``, ``pass_templates``): read in
    place in a clone, from the wheel's copy under ``app/_bundled`` when installed."""
    bundled = _BUNDLED / name
    return bundled if bundled.is_dir() else SOURCE_ROOT / name


def _default_instance_dir() -> Path:
    # A clone keeps its data beside the code; an installed package never writes into
    # site-packages, so it uses ./instance unless WALLETPASS_INSTANCE_DIR says otherwise.
    return SOURCE_ROOT / "instance" if from_source_checkout() else Path.cwd() / "instance"


ENVIRONMENTS = ("development", "test", "production")


class SettingsError(ValueError):
    """A WALLETPASS_* variable is missing or malformed."""


@dataclass(frozen=True)
class RateLimit:
    count: int
    per_seconds: int

    @classmethod
    def parse(cls, name: str, raw: str) -> RateLimit:
        """``30/hour``, ``20/15 minutes``, ``600/minute``: a count per (n) units."""
        units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
        match = _RATE.match(raw.lower())
        if match is None or match.group(3) not in units:
            raise SettingsError(
                f"{name}={raw!r}: expected '<count>/[<n> ]<second|minute|hour|day>', "
                "e.g. '30/hour' or '20/15 minutes'"
            )
        count, multiple = int(match.group(1)), int(match.group(2) or 1)
        if count < 1 or multiple < 1:
            raise SettingsError(f"{name}={raw!r}: the count and the period must be at least 1")
        return cls(count, multiple * units[match.group(3)])


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)?\s*([a-z]+?)s?\s*$")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class AppleSettings:
    pass_type_id: str
    team_id: str
    cert_file: Path | None
    key_file: Path | None
    cert_password: str | None = field(repr=False)
    wwdr_cert_file: Path | None

    @property
    def uses_dev_certs(self) -> bool:
        return self.cert_file is None


@dataclass(frozen=True)
class ApnsSettings:
    url: str | None  # None: development without APNs, the worker runs a local fake
    auth: str
    ca_file: Path | None
    key_file: Path | None
    key_id: str | None
    connections: int


# Push relays of the Android .pkpass apps: WALLETPASS_PUSH_<APP>_URL / _KEY.
# (app, documented public endpoint or None, whether the relay needs a key)
RELAYS: tuple[tuple[str, str | None, bool], ...] = (
    ("walletpasses", "https://walletpasses.appspot.com/api/v1/push", False),
    ("pass2u", "https://api.passesalliance.com/v2/registrations/{passTypeIdentifier}/push", True),
    ("passworks", "https://wallet.passworks.io/v1/pushUpdate", True),
    ("walletunion", None, False),  # its endpoint is not in our notes: off until set
    ("passhub", "https://api.passhub.io/v1/push", True),
)


@dataclass(frozen=True)
class RelaySettings:
    """One relay's endpoint and key; ``off`` says why the channel cannot send."""

    url: str | None
    key: str | None = field(repr=False)
    key_required: bool
    off: str | None


@dataclass(frozen=True)
class GoogleSettings:
    issuer_id: str
    service_account_file: Path
    api_url: str
    token_url: str
    root_keys: str | None  # a file path or an https URL of Google's callback signing keys
    requests_per_second: float = 20.0

    @property
    def root_keys_url(self) -> str | None:
        """The URL the worker refreshes the callback keys from (None: a file, or none)."""
        if self.root_keys is not None and self.root_keys.startswith(("https://", "http://")):
            return self.root_keys
        return None


@dataclass(frozen=True)
class Settings:
    env: str
    instance_dir: Path
    database_url: str
    database_pool_size: int
    public_url: str
    secret_key: str = field(repr=False)
    apple: AppleSettings
    apns: ApnsSettings
    google: GoogleSettings | None  # None: Google Wallet is off
    queue_url: str | None
    sweep_after_seconds: int
    templates_dir: Path
    dev_certs_dir: Path
    max_request_bytes: int
    enroll_rate_limit: RateLimit
    trusted_proxies: int
    metrics_dir: Path
    metrics_token: str | None = field(repr=False)
    enroll_phone_rate_limit: RateLimit = RateLimit(10, 86400)
    login_rate_limit: RateLimit = RateLimit(20, 900)
    login_account_rate_limit: RateLimit = RateLimit(10, 900)
    pos_rate_limit: RateLimit = RateLimit(600, 60)
    # PassKit registrations: the most devices one pass may have, and attempts per address.
    max_devices_per_pass: int = 10
    passkit_register_rate_limit: RateLimit = RateLimit(300, 3600)
    passkit_register_pass_rate_limit: RateLimit = RateLimit(30, 3600)
    rate_limit_url: str | None = None  # None: counters live in the database
    log_format: str = "text"
    relays: dict[str, RelaySettings] = field(default_factory=dict)
    messaging: MessagingSettings = field(default_factory=MessagingSettings)
    # Retention (days): the daily job deletes older PassKit device logs and audit entries.
    device_log_retention_days: int = 30
    audit_retention_days: int = 730

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def passkit_url(self) -> str:
        return f"{self.public_url}/passkit"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the given mapping, or from the process environment over an
        optional ``.env`` file in the working directory."""
        if environ is None:
            dotenv = {k: v for k, v in dotenv_values(".env").items() if v is not None}
            environ = {**dotenv, **os.environ}
        return _load(dict(environ))


def _get(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _path(env: Mapping[str, str], name: str, must_exist: bool = True) -> Path | None:
    raw = _get(env, name)
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if must_exist and not path.is_file():
        raise SettingsError(f"{name}={raw!r}: no such file")
    return path


def _public_url(env: Mapping[str, str], production: bool) -> str:
    name = "WALLETPASS_PUBLIC_URL"
    raw = _get(env, name, "http://127.0.0.1:8000")
    assert raw is not None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}={raw!r}: expected an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise SettingsError(f"{name}={raw!r}: must not carry a query or fragment")
    if production and parts.scheme != "https":
        # Wallet refuses a webServiceURL that is not HTTPS.
        raise SettingsError(f"{name}={raw!r}: must be https:// in production")
    return raw.rstrip("/")


def ensure_instance_dir(path: Path) -> None:
    """The instance directory, private to this user (0700): it holds the databases,
    the secret key and the certificates."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _secret_key(env: Mapping[str, str], production: bool, instance_dir: Path) -> str:
    name = "WALLETPASS_SECRET_KEY"
    raw = _get(env, name)
    if raw is not None:
        if len(raw) < 32:
            raise SettingsError(f"{name}: must be at least 32 characters long")
        return raw
    if production:
        raise SettingsError(f"{name} is required in production (at least 32 random characters)")
    # Development keeps a generated key in the instance folder so cards stay valid
    # across restarts.
    key_file = instance_dir / "secret_key"
    if key_file.is_file():
        return key_file.read_text().strip()
    ensure_instance_dir(instance_dir)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


def _apple(env: Mapping[str, str], production: bool) -> AppleSettings:
    pass_type_id = _get(env, "WALLETPASS_APPLE_PASS_TYPE_ID", "pass.dev.walletpass.loyalty")
    team_id = _get(env, "WALLETPASS_APPLE_TEAM_ID", "WPDEVTEAM1")
    assert pass_type_id is not None and team_id is not None
    if not pass_type_id.startswith("pass."):
        raise SettingsError(
            f"WALLETPASS_APPLE_PASS_TYPE_ID={pass_type_id!r}: a pass type id starts with 'pass.'"
        )
    if not team_id.isalnum():
        raise SettingsError(f"WALLETPASS_APPLE_TEAM_ID={team_id!r}: letters and digits only")
    cert = _path(env, "WALLETPASS_APPLE_CERT")
    key = _path(env, "WALLETPASS_APPLE_KEY")
    wwdr = _path(env, "WALLETPASS_APPLE_WWDR_CERT")
    if cert is None and production:
        raise SettingsError("WALLETPASS_APPLE_CERT is required in production (.p12 or PEM)")
    if cert is None and (key is not None or wwdr is not None):
        raise SettingsError(
            "WALLETPASS_APPLE_KEY / WALLETPASS_APPLE_WWDR_CERT given without WALLETPASS_APPLE_CERT"
        )
    if cert is not None and wwdr is None:
        raise SettingsError(
            "WALLETPASS_APPLE_WWDR_CERT is required with WALLETPASS_APPLE_CERT "
            "(Apple WWDR G4 intermediate, see certs/README.md)"
        )
    if cert is not None and cert.suffix.lower() not in (".p12", ".pfx") and key is None:
        raise SettingsError(
            "WALLETPASS_APPLE_KEY is required when WALLETPASS_APPLE_CERT is a PEM certificate"
        )
    return AppleSettings(
        pass_type_id=pass_type_id,
        team_id=team_id,
        cert_file=cert,
        key_file=key,
        cert_password=_get(env, "WALLETPASS_APPLE_CERT_PASSWORD"),
        wwdr_cert_file=wwdr,
    )


QUEUE_SCHEMES = (
    "sqlite:///",
    "redis://",
    "rediss://",
    "postgresql://",
    "postgresql+psycopg://",
    "postgres://",
    "memory://",
)


# URL scheme -> (driver module, the extra that installs it).
_DRIVERS = {
    "postgresql": ("psycopg", "postgres"),
    "postgres": ("psycopg", "postgres"),
    "postgresql+psycopg": ("psycopg", "postgres"),
    "postgresql+psycopg2": ("psycopg2", "postgres"),
    "redis": ("redis", "redis"),
    "rediss": ("redis", "redis"),
}


def _require_driver(name: str, url: str) -> None:
    """Stop with one line naming the extra when a URL's driver is not installed."""
    scheme = url.split("://", 1)[0].lower()
    driver = _DRIVERS.get(scheme)
    if driver is not None and importlib.util.find_spec(driver[0]) is None:
        raise SettingsError(
            f"{name} needs the Python package {driver[0]!r}, which is not installed: "
            f"pip install 'walletpass[{driver[1]}]'"
        )


def _database_url(env: Mapping[str, str], instance_dir: Path) -> str:
    name = "WALLETPASS_DATABASE_URL"
    url = _get(env, name) or f"sqlite:///{instance_dir / 'walletpass.db'}"
    if "://" not in url:
        raise SettingsError(
            f"{name}={url!r}: expected a URL such as "
            "sqlite:///path.db or postgresql+psycopg://user@host/db"
        )
    scheme, rest = url.split("://", 1)
    if scheme.lower() in ("postgresql", "postgres"):
        # SQLAlchemy would pick psycopg2 for a bare scheme; we ship psycopg 3.
        url = f"postgresql+psycopg://{rest}"
    elif not scheme.lower().startswith(("sqlite", "postgresql")):
        raise SettingsError(f"{name}: {scheme!r} databases are not supported (SQLite, PostgreSQL)")
    _require_driver(name, url)
    return url


def _queue_url(env: Mapping[str, str]) -> str | None:
    raw = _get(env, "WALLETPASS_QUEUE_URL")
    if raw is not None and not raw.startswith(QUEUE_SCHEMES):
        raise SettingsError(
            f"WALLETPASS_QUEUE_URL={raw!r}: expected sqlite:///FILE, redis://HOST[:PORT][/DB] "
            "or postgresql://USER@HOST/DB"
        )
    if raw is not None:
        _require_driver("WALLETPASS_QUEUE_URL", raw)
    return raw


def _apns(env: Mapping[str, str], production: bool, apple: AppleSettings) -> ApnsSettings:
    url = _get(env, "WALLETPASS_APNS_URL")
    if url is None and (production or not apple.uses_dev_certs):
        url = "https://api.push.apple.com"
    if url is not None and not url.startswith("https://"):
        raise SettingsError(f"WALLETPASS_APNS_URL={url!r}: APNs is reached over https://")
    auth = _get(env, "WALLETPASS_APNS_AUTH", "cert") or "cert"
    if auth not in ("cert", "token"):
        raise SettingsError(f"WALLETPASS_APNS_AUTH={auth!r}: expected 'cert' or 'token'")
    key_file = _path(env, "WALLETPASS_APNS_KEY_FILE")
    key_id = _get(env, "WALLETPASS_APNS_KEY_ID")
    if auth == "token" and (key_file is None or key_id is None):
        raise SettingsError(
            "WALLETPASS_APNS_AUTH=token needs WALLETPASS_APNS_KEY_FILE (.p8) "
            "and WALLETPASS_APNS_KEY_ID"
        )
    return ApnsSettings(
        url=url,
        auth=auth,
        ca_file=_path(env, "WALLETPASS_APNS_CA_FILE"),
        key_file=key_file,
        key_id=key_id,
        connections=_int(env, "WALLETPASS_APNS_CONNECTIONS", 4, minimum=1),
    )


def _relays(env: Mapping[str, str], app_env: str, real: bool) -> dict[str, RelaySettings]:
    """Documented endpoints are the defaults of a real deployment (production, or real
    Apple certificates); in development an unset relay goes to the worker's local fake
    relays, in tests it is off."""
    out: dict[str, RelaySettings] = {}
    for app, default, key_required in RELAYS:
        url_name, key_name = (
            f"WALLETPASS_PUSH_{app.upper()}_URL",
            f"WALLETPASS_PUSH_{app.upper()}_KEY",
        )
        url = _get(env, url_name) or (default if real else None)
        key = _get(env, key_name)
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise SettingsError(f"{url_name}={url!r}: expected an https:// URL")
            if real and parts.scheme != "https":
                raise SettingsError(f"{url_name}={url!r}: must be https:// in production")
            if app == "pass2u" and "{passTypeIdentifier}" not in url:
                raise SettingsError(
                    f"{url_name}={url!r}: must contain {{passTypeIdentifier}} (Pass2U puts "
                    "the pass type id in the path)"
                )
        if key is not None and not re.fullmatch(r"[!-~]{8,512}", key):
            raise SettingsError(f"{key_name}: expected 8-512 printable characters, no spaces")
        off = (
            None  # development: the local fake relay
            if url is None and app_env == "development"
            else f"{url_name} is not set"
            if url is None
            else f"{key_name} is not set"
            if key_required and key is None
            else None
        )
        out[app] = RelaySettings(url=url, key=key, key_required=key_required, off=off)
    return out


def _google(env: Mapping[str, str]) -> GoogleSettings | None:
    issuer = _get(env, "WALLETPASS_GOOGLE_ISSUER_ID")
    account = _path(env, "WALLETPASS_GOOGLE_SERVICE_ACCOUNT_FILE")
    if issuer is None and account is None:
        return None
    if issuer is None or account is None:
        raise SettingsError(
            "Google Wallet needs both WALLETPASS_GOOGLE_ISSUER_ID and "
            "WALLETPASS_GOOGLE_SERVICE_ACCOUNT_FILE (or neither, to switch it off)"
        )
    if not issuer.isdigit():
        raise SettingsError(f"WALLETPASS_GOOGLE_ISSUER_ID={issuer!r}: the issuer id is a number")
    urls = {}
    for name, default in (
        ("WALLETPASS_GOOGLE_API_URL", "https://walletobjects.googleapis.com/walletobjects/v1"),
        ("WALLETPASS_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
    ):
        url = _get(env, name, default) or default
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise SettingsError(f"{name}={url!r}: expected an https:// URL")
        urls[name] = url.rstrip("/")
    root_keys = _get(env, "WALLETPASS_GOOGLE_ROOT_KEYS") or ""
    loopback = ("http://127.0.0.1", "http://localhost")
    if root_keys.startswith("http://") and not root_keys.startswith(loopback):
        raise SettingsError(
            f"WALLETPASS_GOOGLE_ROOT_KEYS={root_keys!r}: expected an https:// URL or a file"
        )
    return GoogleSettings(
        issuer_id=issuer,
        service_account_file=account,
        api_url=urls["WALLETPASS_GOOGLE_API_URL"],
        token_url=urls["WALLETPASS_GOOGLE_TOKEN_URL"],
        root_keys=root_keys or None,
        requests_per_second=float(
            _int(env, "WALLETPASS_GOOGLE_REQUESTS_PER_SECOND", 20, minimum=1)
        ),
    )


def _default_dev_certs_dir(instance_dir: Path) -> Path:
    return SOURCE_ROOT / "certs" / "dev" if from_source_checkout() else instance_dir / "dev-certs"


def _metrics_token(env: Mapping[str, str]) -> str | None:
    raw = _get(env, "WALLETPASS_METRICS_TOKEN")
    if raw is not None and len(raw) < 16:
        raise SettingsError("WALLETPASS_METRICS_TOKEN: must be at least 16 characters long")
    return raw


def _load(env: Mapping[str, str]) -> Settings:
    app_env = _get(env, "WALLETPASS_ENV", "development")
    assert app_env is not None
    if app_env not in ENVIRONMENTS:
        raise SettingsError(
            f"WALLETPASS_ENV={app_env!r}: expected one of {', '.join(ENVIRONMENTS)}"
        )
    production = app_env == "production"
    instance_dir = Path(
        _get(env, "WALLETPASS_INSTANCE_DIR", str(_default_instance_dir())) or ""
    ).expanduser()
    database_url = _database_url(env, instance_dir)
    public_url = _public_url(env, production)
    secret_key = _secret_key(env, production, instance_dir)
    apple = _apple(env, production)
    templates = Path(
        _get(env, "WALLETPASS_TEMPLATES_DIR", str(resource_dir("pass_templates"))) or ""
    )
    if not templates.is_dir():
        raise SettingsError(f"WALLETPASS_TEMPLATES_DIR={str(templates)!r}: no such folder")
    return Settings(
        env=app_env,
        instance_dir=instance_dir,
        database_url=database_url,
        database_pool_size=_int(env, "WALLETPASS_DATABASE_POOL_SIZE", 10, minimum=1),
        public_url=public_url,
        secret_key=secret_key,
        apple=apple,
        apns=_apns(env, production, apple),
        google=_google(env),
        queue_url=_queue_url(env),
        sweep_after_seconds=_int(env, "WALLETPASS_SWEEP_AFTER_SECONDS", 60),
        templates_dir=templates,
        dev_certs_dir=Path(
            _get(env, "WALLETPASS_DEV_CERTS_DIR", str(_default_dev_certs_dir(instance_dir))) or ""
        ),
        max_request_bytes=_int(env, "WALLETPASS_MAX_REQUEST_BYTES", 64 * 1024, minimum=1024),
        enroll_rate_limit=RateLimit.parse(
            "WALLETPASS_ENROLL_RATE_LIMIT",
            _get(env, "WALLETPASS_ENROLL_RATE_LIMIT", "30/hour") or "",
        ),
        trusted_proxies=_int(env, "WALLETPASS_TRUSTED_PROXIES", 0),
        metrics_dir=Path(
            _get(env, "WALLETPASS_METRICS_DIR", str(instance_dir / "metrics")) or ""
        ).expanduser(),
        metrics_token=_metrics_token(env),
        enroll_phone_rate_limit=_rate(env, "WALLETPASS_ENROLL_PHONE_RATE_LIMIT", "10/day"),
        login_rate_limit=_rate(env, "WALLETPASS_LOGIN_RATE_LIMIT", "20/15 minutes"),
        login_account_rate_limit=_rate(env, "WALLETPASS_LOGIN_ACCOUNT_RATE_LIMIT", "10/15 minutes"),
        pos_rate_limit=_rate(env, "WALLETPASS_POS_RATE_LIMIT", "600/minute"),
        max_devices_per_pass=_max_devices(env),
        passkit_register_rate_limit=_rate(
            env, "WALLETPASS_PASSKIT_REGISTER_RATE_LIMIT", "300/hour"
        ),
        passkit_register_pass_rate_limit=_rate(
            env, "WALLETPASS_PASSKIT_REGISTER_PASS_RATE_LIMIT", "30/hour"
        ),
        rate_limit_url=_rate_limit_url(env),
        log_format=_log_format(env),
        relays=_relays(env, app_env, production or not apple.uses_dev_certs),
        messaging=_messaging(env),
        device_log_retention_days=_int(env, "WALLETPASS_DEVICE_LOG_RETENTION_DAYS", 30, minimum=1),
        audit_retention_days=_int(env, "WALLETPASS_AUDIT_RETENTION_DAYS", 730, minimum=30),
    )


def _max_devices(env: Mapping[str, str]) -> int:
    name = "WALLETPASS_MAX_DEVICES_PER_PASS"
    value = _int(env, name, 10, minimum=1)
    if value > 1000:
        raise SettingsError(f"{name}={value}: at most 1000 (each device costs a push per change)")
    return value


def _messaging(env: Mapping[str, str]) -> MessagingSettings:
    try:
        return messaging_settings(env)
    except MessagingSettingsError as exc:
        raise SettingsError(str(exc)) from None


def _rate(env: Mapping[str, str], name: str, default: str) -> RateLimit:
    return RateLimit.parse(name, _get(env, name, default) or default)


def _rate_limit_url(env: Mapping[str, str]) -> str | None:
    name = "WALLETPASS_RATE_LIMIT_URL"
    raw = _get(env, name)
    if raw is None:
        return None
    if not raw.startswith(("redis://", "rediss://")):
        raise SettingsError(
            f"{name}={raw!r}: expected redis://HOST[:PORT][/DB] (or leave it unset to keep "
            "the rate-limit counters in the database)"
        )
    if importlib.util.find_spec("redis") is None:
        raise SettingsError(f"{name}: Redis needs its driver: pip install 'walletpass[redis]'")
    return raw


def _log_format(env: Mapping[str, str]) -> str:
    raw = (_get(env, "WALLETPASS_LOG_FORMAT", "text") or "text").lower()
    if raw not in LOG_FORMATS:
        raise SettingsError(f"WALLETPASS_LOG_FORMAT={raw!r}: expected 'text' or 'json'")
    return raw
