"""What an invite says (ru/en) and the pure rules of sending: batches, backoff."""

from __future__ import annotations

from datetime import timedelta

MAX_ATTEMPTS = 5  # a message the gateway could not take is tried this often, then failed


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: 1, 5, 25, 125 minutes."""
    return timedelta(minutes=5 ** max(0, attempts - 1))


def _points(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")


def sms_text(locale: str, brand: str, link: str, bonus: int) -> str:
    """Short: in Cyrillic (UCS-2) a part holds 67 characters and the link takes ~70, so
    every word costs; the link is the card page."""
    if locale == "ru":
        extra = f" +{_points(bonus)} баллов за установку" if bonus else ""
        return f"{brand}: ваша карта {link}{extra}"
    extra = f" +{_points(bonus)} points for adding it" if bonus else ""
    return f"{brand}: your card {link}{extra}"


def mail_subject(locale: str, brand: str) -> str:
    return f"{brand}: карта в телефоне" if locale == "ru" else f"{brand}: your card on your phone"


def mail_text(locale: str, brand: str, name: str, link: str, bonus: int, unsubscribe: str) -> str:
    if locale == "ru":
        hello = f"Здравствуйте, {name}!" if name else "Здравствуйте!"
        bonus_line = f"\nЗа установку карты — {_points(bonus)} баллов.\n" if bonus else ""
        return (
            f"{hello}\n\nВаша карта {brand} готова: добавьте её в Apple Wallet или Google "
            f"Wallet по ссылке\n{link}\n{bonus_line}\n"
            f"Если письма не нужны, откажитесь от рассылки: {unsubscribe}\n"
        )
    hello = f"Hello {name}," if name else "Hello,"
    bonus_line = f"\nAdding the card earns you {_points(bonus)} points.\n" if bonus else ""
    return (
        f"{hello}\n\nYour {brand} card is ready: add it to Apple Wallet or Google Wallet at\n"
        f"{link}\n{bonus_line}\nTo stop these e-mails, unsubscribe here: {unsubscribe}\n"
    )
