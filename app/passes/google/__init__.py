"""Google Wallet: LoyaltyClass/LoyaltyObject rendering, service-account tokens, the
REST client, save links and save/delete callback verification."""

from app.passes.google.auth import AccessTokens, ServiceAccount, TokenError
from app.passes.google.callbacks import (
    CallbackError,
    CallbackMessage,
    CallbackVerifier,
    RootKey,
    load_root_keys,
)
from app.passes.google.client import GoogleWalletClient, GoogleWalletError, NotificationQuotaError
from app.passes.google.objects import (
    ProgramLook,
    class_id,
    loyalty_class,
    loyalty_object,
    message,
    object_id,
)
from app.passes.google.save_link import save_jwt, save_url

__all__ = [
    "AccessTokens",
    "CallbackError",
    "CallbackMessage",
    "CallbackVerifier",
    "GoogleWalletClient",
    "GoogleWalletError",
    "NotificationQuotaError",
    "ProgramLook",
    "RootKey",
    "ServiceAccount",
    "TokenError",
    "class_id",
    "load_root_keys",
    "loyalty_class",
    "loyalty_object",
    "message",
    "object_id",
    "save_jwt",
    "save_url",
]
