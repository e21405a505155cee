"""Which wallet app holds a pass, read from how it speaks the PassKit web service.

Apple Wallet and the Android apps that open .pkpass files all call our PassKit
endpoints, each with its own ``Authorization`` scheme or ``X-Pass-Client`` header
(docs/passkit.md). The app decides how its phones are woken: APNs
for Apple Wallet, the app's own push relay for the others.
"""

from __future__ import annotations

APPLE_WALLET = "apple_wallet"
UNKNOWN = "unknown"
APPS = (
    APPLE_WALLET,
    "walletpasses",
    "passwallet",
    "pass2u",
    "passworks",
    "walletunion",
    "walletunion_hms",
    "passhub",
    UNKNOWN,
)

# Authorization scheme -> app; the token after the scheme is the pass's own.
SCHEMES = {
    "ApplePass": APPLE_WALLET,
    "AndroidPass": "walletpasses",
    "AttidoPass": "passwallet",
    "WalletUnionPass": "walletunion",
    "WalletUnionHMSPass": "walletunion_hms",
    "TelegramPass": "passhub",
}
# X-Pass-Client header (apps that send the ApplePass scheme) -> app.
PASS_CLIENTS = {"passes": "pass2u", "passworks": "passworks"}
# User-Agent product tokens that name an app whatever the scheme.
USER_AGENTS = (
    ("walletunionhms/", "walletunion_hms"),
    ("walletunion/", "walletunion"),
    ("walletpasses/", "walletpasses"),
    ("passhubtelegram/", "passhub"),
)


def identify(scheme: str, pass_client: str | None, user_agent: str | None) -> str:
    """The wallet app behind a request with an accepted ``scheme``."""
    client = (pass_client or "").strip().lower()
    if client in PASS_CLIENTS:
        return PASS_CLIENTS[client]
    app = SCHEMES.get(scheme, UNKNOWN)
    if app != APPLE_WALLET:
        return app
    agent = (user_agent or "").lower()
    for token, named in USER_AGENTS:
        if token in agent:
            return named
    # ApplePass from an Android phone is an app we cannot name: its push token is
    # not an APNs token, so it must not be sent to Apple.
    return UNKNOWN if "android" in agent else APPLE_WALLET
