"""Phone numbers as personal data: a keyed hash to recognise a sender, Fernet to send to them.

Both keys come from the service's secret (or, for encryption, PEERCHAT_SMS_NUMBER_KEY), each
derived for its one purpose, so neither the hash nor the ciphertext in a database dump says
which number it is without the secret. Numbers never reach logs: nothing here logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken

_NOT_DIGITS = re.compile(r"[\s().\-]")


def normalise(number: str) -> str:
    """One spelling per number: spaces, dots, dashes and brackets dropped; a leading + kept."""
    return _NOT_DIGITS.sub("", number.strip())


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"peerchat sms {purpose} v1".encode(), hashlib.sha256).digest()


class NumberVault:
    def __init__(self, secret: str, fernet_key: str | None = None) -> None:
        self._hash_key = _derive(secret, "number hash")
        key = (
            fernet_key.encode()
            if fernet_key
            else base64.urlsafe_b64encode(_derive(secret, "number encryption"))
        )
        self._fernet = Fernet(key)

    def digest(self, number: str) -> str:
        """HMAC-SHA256 of the normalised number: equal numbers match, nothing reverses it
        without the key (a plain hash of a phone number is reversed by trying them all)."""
        return hmac.new(self._hash_key, normalise(number).encode(), hashlib.sha256).hexdigest()

    def seal(self, number: str) -> str:
        return self._fernet.encrypt(normalise(number).encode()).decode()

    def open(self, sealed: str) -> str | None:
        """None when the key changed since it was sealed (the number cannot be recovered)."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
