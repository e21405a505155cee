from datetime import date

import pytest

from app.loyalty import rules


def test_card_numbers_are_13_digits_with_a_valid_check_digit() -> None:
    numbers = {rules.new_card_number() for _ in range(500)}
    assert len(numbers) == 500
    for number in numbers:
        assert len(number) == 13 and number[0] != "0"
        assert rules.luhn_valid(number)


def test_a_single_typo_in_a_card_number_is_detected() -> None:
    number = rules.new_card_number()
    for i in range(len(number)):
        wrong = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
        assert not rules.luhn_valid(wrong)


def test_barcode_round_trips_and_rejects_what_is_not_ours() -> None:
    number, secret = rules.new_card_number(), rules.new_barcode_secret()
    value = rules.barcode_value(number, secret)
    assert rules.parse_barcode(value) == (number, secret)
    assert rules.parse_barcode(value.lower()) == (number, secret)
    assert rules.parse_barcode(number) is None  # the number alone is not a barcode
    assert rules.parse_barcode(f"{number}-{secret[:-1]}") is None
    wrong_check = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert rules.parse_barcode(f"{wrong_check}-{secret}") is None
    assert rules.parse_barcode("+79001234567") is None


def test_barcode_secret_stays_in_the_qr_alphanumeric_set() -> None:
    allowed = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    value = rules.barcode_value(rules.new_card_number(), rules.new_barcode_secret())
    assert set(value) <= allowed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 900 123-45-67", "+79001234567"),
        ("8 (900) 123 45 67", "+79001234567"),
        ("9001234567", "+79001234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("not a phone", None),
        ("", None),
        ("+7" + "9" * 40, None),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str, expected: str | None) -> None:
    assert rules.normalise_phone(raw, "RU") == expected


def test_names_emails_birthdays() -> None:
    assert rules.clean_name("  Анна   Петрова ") == "Анна Петрова"
    assert rules.clean_name("   ") is None
    assert rules.clean_name("x" * 101) is None
    assert rules.clean_name("bad\x00name") is None
    assert rules.clean_email(" Anna@Example.COM ") == "anna@example.com"
    assert rules.clean_email("anna@") is None
    today = date(2026, 3, 14)
    assert rules.birthday_problem(date(2027, 1, 1), today) == "must not be in the future"
    assert rules.birthday_problem(date(1890, 1, 1), today) == "is too far in the past"
    assert rules.birthday_problem(date(1990, 5, 2), today) is None


def test_percent_formatting() -> None:
    assert rules.format_percent(700) == "7\u00a0%"
    assert rules.format_percent(1500) == "15\u00a0%"
    assert rules.format_percent(750) == "7.5\u00a0%"
    assert rules.format_points(12000) == "12\u00a0000"
