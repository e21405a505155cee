"""Which "add the card" links fit the shopper's phone.

The card page reads the browser's User-Agent and offers what can work there:
Apple Wallet on an iPhone or iPad; on Android, Google Wallet (when configured) and
the wallet apps that open ``.pkpass`` files, in the order the program chose; on a
computer, a QR code that opens the card page on the phone. The web card with its
till QR stays on every page whatever is chosen here.

Store links carry no card data: the card URL is a capability, so it is never put
into a store's install referrer or a third-party script. After installing an app
the shopper comes back to the page and opens the card with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode, urlsplit

from app.loyalty.errors import ValidationError


class Device(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    # A Huawei phone that probably has no Google services (HMS only).
    HUAWEI = "huawei"
    # A Mac: may be an iPad asking for the desktop site (iPadOS Safari does by default).
    MAC = "mac"
    DESKTOP = "desktop"


@dataclass(frozen=True)
class WalletApp:
    """An Android app that opens ``.pkpass`` files, as the card page offers it."""

    key: str  # the name registrations record (app.push.wallet_apps)
    name: str
    # Google Play package id when we know it; otherwise the store is searched by name.
    play_package: str | None = None
    # Set for apps that run on phones without Google services (their store is AppGallery).
    huawei_url: str | None = None

    @property
    def store_url(self) -> str:
        if self.huawei_url is not None:
            return self.huawei_url
        if self.play_package is not None:
            return "https://play.google.com/store/apps/details?" + urlencode(
                {"id": self.play_package}
            )
        return "https://play.google.com/store/search?" + urlencode({"q": self.name, "c": "apps"})

    @property
    def store(self) -> str:
        """Where the link leads, as the page names it."""
        if self.huawei_url is not None:
            return f"AppGallery ({urlsplit(self.huawei_url).hostname})"
        return "Google Play"


# Package ids from the apps' store pages as we know them (README lists which are
# unverified); apps without a known id get a store search for their name.
APPS: dict[str, WalletApp] = {
    app.key: app
    for app in (
        WalletApp("walletunion", "WalletUnion"),
        WalletApp("walletpasses", "Wallet Passes", play_package="io.walletpasses.android"),
        WalletApp("passwallet", "PassWallet", play_package="com.attidomobile.passwallet"),
        WalletApp("pass2u", "Pass2U Wallet", play_package="com.passesalliance.wallet"),
        # WalletUnion's site offers its AppGallery build (the HMS variant).
        WalletApp("walletunion_hms", "WalletUnion (Huawei)", huawei_url="https://walletunion.com/"),
        WalletApp("passworks", "Passworks Wallet"),
    )
}

# WalletUnion first: it is localised in Russian and runs on both Google and Huawei
# phones, its relay reports removed cards; then the widely installed Wallet Passes,
# PassWallet and Pass2U. The Huawei build comes last: it moves to the top by itself
# on Huawei phones and is hidden on the others.
DEFAULT_ORDER: tuple[str, ...] = (
    "walletunion",
    "walletpasses",
    "passwallet",
    "pass2u",
    "walletunion_hms",
)

# Tokens of Huawei's own browser and system webview ("HMSCore 6.x", "HarmonyOS",
# "HuaweiBrowser/12"): the browsers of the Huawei phones sold without Google services
# since 2019. A Huawei model name alone (older phones with Google services, in Chrome)
# is not enough. The User-Agent never says whether Google services are there, so the
# Huawei list still carries the Google Play apps after the AppGallery ones.
HUAWEI_TOKENS = ("hmscore", "harmonyos", "huaweibrowser")


def device_of(user_agent: str | None) -> Device:
    """The kind of device behind a User-Agent (a best guess; unknown is a computer)."""
    agent = (user_agent or "").lower()
    if any(token in agent for token in ("iphone", "ipad", "ipod")):
        return Device.IOS
    if "android" in agent or "harmonyos" in agent:
        if any(token in agent for token in HUAWEI_TOKENS):
            return Device.HUAWEI
        return Device.ANDROID
    if "macintosh" in agent or "mac os x" in agent:
        return Device.MAC
    return Device.DESKTOP


def program_order(saved: list[str] | None) -> list[str]:
    """The program's order of app keys, or the default one when it has set none."""
    return list(DEFAULT_ORDER) if saved is None else list(saved)


def apps_for(device: Device, saved: list[str] | None) -> list[WalletApp]:
    """The .pkpass apps to offer on ``device``, in the program's order."""
    order = [APPS[key] for key in program_order(saved) if key in APPS]
    if device is Device.ANDROID:
        return [app for app in order if app.huawei_url is None]
    if device is Device.HUAWEI:
        return [app for app in order if app.huawei_url is not None] + [
            app for app in order if app.huawei_url is None
        ]
    return []


def parse_order(raw: str) -> list[str]:
    """A comma- or space-separated list of app keys, checked: known apps, each once, at
    least one. Raises ValidationError naming the field."""
    keys = [key for key in raw.replace(",", " ").split() if key]
    unknown = [key for key in keys if key not in APPS]
    if unknown:
        raise ValidationError(
            {
                "android_wallet_apps": f"unknown wallet app {', '.join(unknown)}; "
                f"known: {', '.join(APPS)}"
            }
        )
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValidationError(
            {"android_wallet_apps": f"each app may appear once: {', '.join(repeated)} repeats"}
        )
    if not keys:
        raise ValidationError({"android_wallet_apps": "choose at least one wallet app"})
    return keys
