import pytest

from app.passes.apple import device_logs


@pytest.mark.parametrize(
    ("line", "reason", "serial"),
    [
        (
            "[2026-03-14 10:00:00 +0300] Get serial #s task (for device abc, pass type "
            "pass.x, last updated (null); with web service url https://x/passkit) encountered "
            "error: Unexpected response code 401",
            "http_401",
            None,
        ),
        (
            "Response to 'What changed?' request included 2 serial numbers but the lastUpdated "
            "tag (1763800000) remained the same.",
            "tag_unchanged",
            None,
        ),
        (
            "Server requested update to serial number 'Ab_c-1', but the pass was unchanged.",
            "pass_unchanged",
            "Ab_c-1",
        ),
        (
            "Get pass task (pass type pass.x, serial number abc123, if-modified-since (null); "
            "with web service url https://x) encountered error: Server response did not provide "
            "a 'Last-Modified' header",
            "missing_last_modified",
            "abc123",
        ),
        (
            "Invalid data error reading pass pass.x/abc. The pass is not valid.",
            "invalid_pass",
            None,
        ),
        ("Register task encountered error: Unexpected response code 503", "http_503", None),
        ("something new", "other", None),
    ],
)
def test_known_wallet_messages_get_a_reason(line: str, reason: str, serial: str | None) -> None:
    reading = device_logs.read(line)
    assert reading.reason == reason
    assert reading.serial_number == serial
    assert device_logs.explanation(reason) == reading.explanation
