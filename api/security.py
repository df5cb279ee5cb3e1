"""API keys, and protection of workers' ID numbers and phones.

Keys are random and long, so a plain SHA-256 is the right hash for them (no salt or slow hash
needed: there is nothing to guess). ID numbers and phones are encrypted with Fernet under a key
derived from the service secret, and kept beside a masked copy for display.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Optional

from cryptography.fernet import Fernet, InvalidToken

KEY_PREFIX = "fg_"


def new_api_key() -> str:
    """A fresh API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Protector:
    """Encrypts and decrypts personal fields with a key derived from ``secret``."""

    def __init__(self, secret: str):
        digest = hashlib.sha256(b"fangang-roster-v1:" + secret.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, value: Optional[str]) -> Optional[str]:
        if value is None or value == "":
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, token: Optional[str]) -> Optional[str]:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            return None  # a key rotated without re-encryption: show nothing rather than fail


def mask_id_number(value: Optional[str]) -> Optional[str]:
    """``511902199001011234`` → ``5119**********1234``: region and last four only."""
    if not value:
        return None
    v = value.strip()
    if len(v) <= 8:
        return v[:1] + "*" * max(len(v) - 2, 1) + v[-1:]
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


def mask_phone(value: Optional[str]) -> Optional[str]:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return None
    v = value.strip()
    if len(v) <= 7:
        return v[:1] + "*" * max(len(v) - 3, 1) + v[-2:]
    return v[:3] + "*" * (len(v) - 7) + v[-4:]
