"""Reading the device from a User-Agent, and the wallet app order a program may set."""

from __future__ import annotations

import pytest

from app.loyalty.errors import ValidationError
from app.passes.install_links import APPS, DEFAULT_ORDER, Device, apps_for, device_of, parse_order
from app.push.wallet_apps import APPS as REGISTERED_APPS


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15", "ios"),
        ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15", "ios"),
        # iPadOS Safari asks for the desktop site by default: it looks like a Mac.
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari", "mac"),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/125 Mobile",
            "android",
        ),
        # A Huawei with Google services, in Chrome: an ordinary Android phone.
        (
            "Mozilla/5.0 (Linux; Android 10; HUAWEI P30) AppleWebKit/537.36 Chrome/120 Mobile",
            "android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; ELS-NX9; HMSCore 6.12.0.302) AppleWebKit/537.36 "
            "Chrome/99.0 HuaweiBrowser/14.0.2.311 Mobile Safari/537.36",
            "huawei",
        ),
        ("Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36", "huawei"),
        ("Mozilla/5.0 (Linux; Android 9; JSN-L21) Chrome/90 HuaweiBrowser/11.1.1 Mobile", "huawei"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/125", "desktop"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/125 Safari/537.36", "desktop"),
        ("", "desktop"),
        (None, "desktop"),
    ],
)
def test_the_device_is_read_from_the_user_agent(agent: str | None, device: str) -> None:
    assert device_of(agent) == device


def test_the_offered_apps_are_ones_the_web_service_recognises() -> None:
    assert set(APPS) <= set(REGISTERED_APPS)
    assert set(DEFAULT_ORDER) <= set(APPS)


def test_only_huawei_phones_see_the_huawei_build_and_see_it_first() -> None:
    order = ["passwallet", "walletunion_hms", "walletunion"]
    assert [a.key for a in apps_for(Device.ANDROID, order)] == ["passwallet", "walletunion"]
    assert [a.key for a in apps_for(Device.HUAWEI, order)] == [
        "walletunion_hms",
        "passwallet",
        "walletunion",
    ]
    assert apps_for(Device.IOS, order) == [] and apps_for(Device.DESKTOP, None) == []
    assert [a.key for a in apps_for(Device.ANDROID, None)] == [
        "walletunion",
        "walletpasses",
        "passwallet",
        "pass2u",
    ]


def test_store_links_carry_nothing_but_the_app() -> None:
    for app in APPS.values():
        assert app.store_url.startswith("https://")
        assert "referrer" not in app.store_url


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("walletunion, googlepay", "unknown wallet app googlepay"),
        ("pass2u walletunion pass2u", "each app may appear once: pass2u repeats"),
        (" , ", "choose at least one wallet app"),
    ],
)
def test_a_bad_order_is_refused_with_a_clear_message(raw: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_order(raw)
    assert message in refused.value.fields["android_wallet_apps"]


def test_a_good_order_is_kept_as_written() -> None:
    assert parse_order("pass2u, walletunion_hms  walletunion") == [
        "pass2u",
        "walletunion_hms",
        "walletunion",
    ]
