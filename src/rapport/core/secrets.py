"""Secrets Rapport must read back, such as a mailbox's password, kept encrypted.

Fernet (AES in CBC mode with an HMAC) from ``cryptography``, keyed by the site's
``SECRET_KEY``: a copied database alone does not give the passwords away. Keys in
``SECRET_KEY_FALLBACKS`` still decrypt, so the secret key can be rotated; values
are re-encrypted with the current key when they are next saved.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

_PURPOSE = b"rapport.core.secrets"


class SecretUnreadable(Exception):
    """The value was encrypted with a key this site no longer has."""


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(_PURPOSE + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(key) for key in keys])


def encrypt(value: str) -> str:
    return _keys().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable from None
