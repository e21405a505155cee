from app.loyalty import totp

RFC_KEY = b"12345678901234567890".hex()  # RFC 6238 appendix B, SHA-1


def test_codes_match_the_rfc_6238_test_vectors() -> None:
    # The RFC lists 8 digits; Google cards show 6, the last six of the same number.
    for unix_time, eight in ((59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")):
        assert totp.code_at(RFC_KEY, totp.step_of(unix_time)) == eight[-6:]


def test_the_current_and_the_previous_code_are_accepted() -> None:
    now = 1_773_480_600.0
    step = totp.step_of(now)
    assert totp.matching_step(RFC_KEY, totp.code_at(RFC_KEY, step), now) == step
    assert totp.matching_step(RFC_KEY, totp.code_at(RFC_KEY, step - 1), now) == step - 1
    assert totp.matching_step(RFC_KEY, totp.code_at(RFC_KEY, step - 2), now) is None
    assert totp.matching_step(RFC_KEY, totp.code_at(RFC_KEY, step + 1), now) is None


def test_rotating_values_are_split_from_static_barcodes() -> None:
    assert totp.split_rotating("1234567890128-ABCDEFGHJK-123456") == (
        "1234567890128-ABCDEFGHJK",
        "123456",
    )
    assert totp.split_rotating("1234567890128-ABCDEFGHJK") is None
    assert totp.split_rotating("1234567890128-12345") is None
