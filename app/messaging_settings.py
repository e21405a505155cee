"""Settings of the invite channels: an SMS gateway and an SMTP relay.

Both are optional: without them the channel is off and the console says which
variable would switch it on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

SMS_PROVIDERS = ("smsru",)
DEFAULT_SMS_URLS = {"smsru": "https://sms.ru"}


class MessagingSettingsError(ValueError):
    """A WALLETPASS_SMS_* / WALLETPASS_SMTP_* / WALLETPASS_MAIL_FROM variable is wrong."""


@dataclass(frozen=True)
class SmsSettings:
    provider: str
    url: str
    api_key: str = field(repr=False)
    sender: str | None


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool  # smtps:// (else STARTTLS when the server offers it)
    username: str | None
    password: str | None = field(repr=False)
    mail_from: str = ""


@dataclass(frozen=True)
class MessagingSettings:
    sms: SmsSettings | None = None
    smtp: SmtpSettings | None = None
    sms_off: str = "WALLETPASS_SMS_PROVIDER is not set"
    email_off: str = "WALLETPASS_SMTP_URL is not set"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value is not None and value.strip() else None


def _sms(env: Mapping[str, str]) -> SmsSettings | None:
    provider = _get(env, "WALLETPASS_SMS_PROVIDER")
    key = _get(env, "WALLETPASS_SMS_API_KEY")
    if provider is None:
        if key is not None:
            raise MessagingSettingsError(
                "WALLETPASS_SMS_API_KEY is set without WALLETPASS_SMS_PROVIDER (e.g. smsru)"
            )
        return None
    provider = provider.lower()
    if provider not in SMS_PROVIDERS:
        raise MessagingSettingsError(
            f"WALLETPASS_SMS_PROVIDER={provider!r}: expected one of {', '.join(SMS_PROVIDERS)}"
        )
    if key is None:
        raise MessagingSettingsError(
            f"WALLETPASS_SMS_PROVIDER={provider} needs WALLETPASS_SMS_API_KEY"
        )
    url = (_get(env, "WALLETPASS_SMS_URL") or DEFAULT_SMS_URLS[provider]).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise MessagingSettingsError(f"WALLETPASS_SMS_URL={url!r}: expected an https:// URL")
    sender = _get(env, "WALLETPASS_SMS_SENDER")
    if sender is not None and len(sender) > 11 and not sender.isdigit():
        raise MessagingSettingsError(
            f"WALLETPASS_SMS_SENDER={sender!r}: a sender name is at most 11 characters"
        )
    return SmsSettings(provider, url, key, sender)


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    raw = _get(env, "WALLETPASS_SMTP_URL")
    mail_from = _get(env, "WALLETPASS_MAIL_FROM")
    if raw is None:
        return None
    name = "WALLETPASS_SMTP_URL"
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MessagingSettingsError(
            f"{name}: expected smtp://[USER:PASSWORD@]HOST[:PORT] (STARTTLS) or smtps://… (TLS)"
        )
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError:
        raise MessagingSettingsError(f"{name}: the port is not a number") from None
    if mail_from is None or "@" not in mail_from:
        raise MessagingSettingsError(
            "WALLETPASS_MAIL_FROM is required with WALLETPASS_SMTP_URL (e.g. Brand <club@brand.ru>)"
        )
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        mail_from=mail_from,
    )


def messaging_settings(env: Mapping[str, str]) -> MessagingSettings:
    return MessagingSettings(sms=_sms(env), smtp=_smtp(env))
