"""E-mail over SMTP to the chain's relay: STARTTLS (smtp://) or TLS from the start (smtps://).

One connection per batch; a recipient the relay refuses is that recipient's error, a
relay that cannot be reached or refuses us fails the whole batch (``MailError``).
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Protocol

from app.messaging_settings import SmtpSettings


class MailError(Exception):
    """The relay could not be used at all (every message of the batch stays unsent)."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str  # the plain-text part (always present)
    html: str | None = None
    unsubscribe_url: str | None = None  # List-Unsubscribe (RFC 2369) with one-click (RFC 8058)


@dataclass(frozen=True)
class MailResult:
    to: str
    ok: bool
    message_id: str | None = None
    error: str | None = None
    retry: bool = False  # not refused, just not sent (the connection broke): try again


class Mailer(Protocol):
    def send(self, mails: Sequence[Mail]) -> list[MailResult]: ...


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, *, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._context = ssl.create_default_context()

    def message(self, mail: Mail) -> EmailMessage:
        msg = EmailMessage()
        name, address = parseaddr(self.settings.mail_from)
        msg["From"] = formataddr((name, address))
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
        if mail.unsubscribe_url:
            msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(mail.text)
        if mail.html:
            msg.add_alternative(mail.html, subtype="html")
        return msg

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.implicit_tls:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=self._context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self._context)
                    smtp.ehlo()
                elif s.username and not _loopback(s.host):
                    smtp.close()
                    raise MailError("the relay offers no STARTTLS: the password is not sent")
            if s.username and s.password is not None:
                smtp.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError:
            raise MailError("the relay refused the user name or password") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"the relay cannot be used: {type(exc).__name__}") from None
        return smtp

    def send(self, mails: Sequence[Mail]) -> list[MailResult]:
        if not mails:
            return []
        smtp = self._connect()
        results = []
        try:
            for i, mail in enumerate(mails):
                msg = self.message(mail)
                try:
                    refused = smtp.send_message(msg)
                except smtplib.SMTPRecipientsRefused as exc:
                    code, text = next(iter(exc.recipients.values()), (0, b""))
                    error = f"{code} {text.decode(errors='replace')}"[:200]
                    results.append(MailResult(mail.to, False, error=error))
                    continue
                except smtplib.SMTPResponseException as exc:
                    said = exc.smtp_error
                    said = said.decode(errors="replace") if isinstance(said, bytes) else said
                    error = f"{exc.smtp_code} {said}"[:200]
                    results.append(MailResult(mail.to, False, error=error))
                    continue
                except (OSError, smtplib.SMTPException) as exc:
                    error = f"the relay dropped the connection: {type(exc).__name__}"
                    results += [MailResult(m.to, False, error=error, retry=True) for m in mails[i:]]
                    return results
                if refused:
                    results.append(MailResult(mail.to, False, error="refused by the relay"))
                else:
                    results.append(MailResult(mail.to, True, message_id=str(msg["Message-ID"])))
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return results


def build_mailer(settings: SmtpSettings | None) -> Mailer | None:
    return None if settings is None else SmtpMailer(settings)
