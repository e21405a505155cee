from pathlib import Path

import pytest

from app.settings import Settings, SettingsError


def base_env(tmp_path: Path) -> dict[str, str]:
    return {"WALLETPASS_INSTANCE_DIR": str(tmp_path / "instance")}


def test_defaults_run_embedded_in_development(tmp_path: Path) -> None:
    settings = Settings.from_env(base_env(tmp_path))
    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'walletpass.db'}"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.passkit_url == "http://127.0.0.1:8000/passkit"
    assert settings.apple.uses_dev_certs
    # The generated development secret survives a restart.
    assert Settings.from_env(base_env(tmp_path)).secret_key == settings.secret_key
    assert settings.secret_key not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WALLETPASS_ENV", "staging", "WALLETPASS_ENV='staging'"),
        ("WALLETPASS_PUBLIC_URL", "wallet.example.com", "WALLETPASS_PUBLIC_URL"),
        ("WALLETPASS_MAX_REQUEST_BYTES", "lots", "WALLETPASS_MAX_REQUEST_BYTES='lots'"),
        ("WALLETPASS_ENROLL_RATE_LIMIT", "many", "WALLETPASS_ENROLL_RATE_LIMIT='many'"),
        ("WALLETPASS_POS_RATE_LIMIT", "0/minute", "WALLETPASS_POS_RATE_LIMIT='0/minute'"),
        ("WALLETPASS_LOGIN_ACCOUNT_RATE_LIMIT", "5/week", "WALLETPASS_LOGIN_ACCOUNT_RATE_LIMIT"),
        ("WALLETPASS_RATE_LIMIT_URL", "memcached://cache", "WALLETPASS_RATE_LIMIT_URL='memc"),
        ("WALLETPASS_LOG_FORMAT", "xml", "WALLETPASS_LOG_FORMAT='xml'"),
        ("WALLETPASS_APPLE_PASS_TYPE_ID", "com.example", "WALLETPASS_APPLE_PASS_TYPE_ID"),
        ("WALLETPASS_APPLE_CERT", "/nonexistent/pass.p12", "WALLETPASS_APPLE_CERT"),
        ("WALLETPASS_SECRET_KEY", "short", "WALLETPASS_SECRET_KEY"),
        ("WALLETPASS_DATABASE_URL", "walletpass.db", "WALLETPASS_DATABASE_URL"),
        ("WALLETPASS_QUEUE_URL", "amqp://broker", "WALLETPASS_QUEUE_URL='amqp://broker'"),
        ("WALLETPASS_APNS_URL", "http://apns.example", "WALLETPASS_APNS_URL"),
        ("WALLETPASS_APNS_AUTH", "magic", "WALLETPASS_APNS_AUTH='magic'"),
        ("WALLETPASS_APNS_AUTH", "token", "WALLETPASS_APNS_KEY_FILE"),
        ("WALLETPASS_DATABASE_POOL_SIZE", "0", "WALLETPASS_DATABASE_POOL_SIZE"),
        ("WALLETPASS_MAX_DEVICES_PER_PASS", "0", "WALLETPASS_MAX_DEVICES_PER_PASS"),
        ("WALLETPASS_MAX_DEVICES_PER_PASS", "5000", "WALLETPASS_MAX_DEVICES_PER_PASS=5000"),
        ("WALLETPASS_PASSKIT_REGISTER_RATE_LIMIT", "lots", "WALLETPASS_PASSKIT_REGISTER_RATE"),
        ("WALLETPASS_METRICS_TOKEN", "short", "WALLETPASS_METRICS_TOKEN: must be at least 16"),
        (
            "WALLETPASS_GOOGLE_ISSUER_ID",
            "3388000000022195345",
            "WALLETPASS_GOOGLE_SERVICE_ACCOUNT_FILE",
        ),
    ],
)
def test_a_bad_variable_is_named_in_the_error(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_env({**base_env(tmp_path), name: value})


def test_production_requires_real_secrets_and_https(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "WALLETPASS_ENV": "production"}
    with pytest.raises(SettingsError, match="WALLETPASS_PUBLIC_URL"):
        Settings.from_env({**env, "WALLETPASS_PUBLIC_URL": "http://wallet.example.com"})
    with pytest.raises(SettingsError, match="WALLETPASS_SECRET_KEY is required"):
        Settings.from_env({**env, "WALLETPASS_PUBLIC_URL": "https://wallet.example.com"})
    with pytest.raises(SettingsError, match="WALLETPASS_APPLE_CERT is required"):
        Settings.from_env(
            {
                **env,
                "WALLETPASS_PUBLIC_URL": "https://wallet.example.com",
                "WALLETPASS_SECRET_KEY": "k" * 40,
            }
        )


def test_a_pem_certificate_needs_its_key_and_the_wwdr(tmp_path: Path) -> None:
    cert = tmp_path / "pass.pem"
    cert.write_text("x")
    with pytest.raises(SettingsError, match="WALLETPASS_APPLE_WWDR_CERT is required"):
        Settings.from_env({**base_env(tmp_path), "WALLETPASS_APPLE_CERT": str(cert)})
    wwdr = tmp_path / "wwdr.pem"
    wwdr.write_text("x")
    with pytest.raises(SettingsError, match="WALLETPASS_APPLE_KEY is required"):
        Settings.from_env(
            {
                **base_env(tmp_path),
                "WALLETPASS_APPLE_CERT": str(cert),
                "WALLETPASS_APPLE_WWDR_CERT": str(wwdr),
            }
        )


def test_rate_limits_read_a_count_per_period(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            **base_env(tmp_path),
            "WALLETPASS_LOGIN_RATE_LIMIT": "20/15 minutes",
            "WALLETPASS_ENROLL_PHONE_RATE_LIMIT": "3/Day",
            "WALLETPASS_RATE_LIMIT_URL": "redis://127.0.0.1:6379/2",
        }
    )
    assert (settings.login_rate_limit.count, settings.login_rate_limit.per_seconds) == (20, 900)
    assert settings.enroll_phone_rate_limit.per_seconds == 86400
    assert settings.pos_rate_limit.count == 600  # the default
    assert settings.rate_limit_url == "redis://127.0.0.1:6379/2"
