"""Issue 18, item 3: a password is judged by its length and by whether it is one of the
passwords everyone tries first, not by the letters of the user's e-mail."""

from __future__ import annotations

import pytest

from app.staff.passwords import MIN_LENGTH, password_problem


@pytest.mark.parametrize(
    "password",
    [
        "amazing lamp at dawn",  # shares letters with a@x.test: refused before issue 18
        "Ракета Север 42",
        "tq7-Lm2x-Pz",
    ],
)
def test_good_passwords_are_accepted_whatever_the_email(password: str) -> None:
    assert password_problem(password, "a@x.test") is None


@pytest.mark.parametrize(
    "password",
    [
        "password123",  # in the list itself
        "1234567890",
        "qwertyuiop",
        "Password2024!",  # a common word dressed with digits and symbols
        "!!dragon!!!!",
        "qwertyqwerty",  # a common word repeated
        "abababababab",
        "zzzzzzzzzzzz",
    ],
)
def test_common_and_repeated_passwords_are_refused(password: str) -> None:
    problem = password_problem(password, "a@x.test")
    assert problem is not None and "common" in problem


def test_short_passwords_are_refused_with_the_length_in_the_message() -> None:
    assert password_problem("x7#Lm2pQ", "a@x.test") == (
        f"must be at least {MIN_LENGTH} characters long"
    )
    assert password_problem("x7#Lm2pQ!z", "a@x.test") is None  # exactly ten


def test_the_email_itself_is_not_a_password() -> None:
    assert password_problem("olga.smirnova@x.test", "olga.smirnova@x.test") is not None
