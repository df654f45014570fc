"""Who is calling: anonymous participants and staff, bearer tokens, passwords and handles."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.enums import OVERSIGHT_ROLES, STAFF_ROLES, Role
from app.core.errors import Unauthorized

_TOKEN_ALGORITHM = "HS256"
_ISSUER = "peerchat"


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    role: Role
    handle: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_participant(self) -> bool:
        return self.role == Role.PARTICIPANT

    @property
    def has_oversight(self) -> bool:
        return self.role in OVERSIGHT_ROLES


class TokenSigner:
    """Signed, expiring bearer tokens (JWT, HS256). The store is still asked on each use whether
    the subject exists, so a deleted participant or a disabled account stops working at once."""

    def __init__(self, key: str) -> None:
        self._key = key

    def issue(self, principal: Principal, ttl_seconds: int) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": principal.id,
            "role": principal.role,
            "handle": principal.handle,
            "iss": _ISSUER,
            "iat": now,
            "exp": now + timedelta(seconds=ttl_seconds),
        }
        return jwt.encode(claims, self._key, algorithm=_TOKEN_ALGORITHM)

    def verify(self, token: str) -> Principal:
        return self.verify_token(token).principal

    def verify_token(self, token: str) -> Verified:
        """The principal with the token's issue and expiry times (seconds since the epoch):
        open connections are closed when their token expires."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_TOKEN_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired; sign in again") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        try:
            role = Role(str(claims["role"]))
        except ValueError:
            raise Unauthorized("invalid token") from None
        principal = Principal(
            id=str(claims["sub"]), role=role, handle=str(claims.get("handle", ""))
        )
        return Verified(principal, float(claims["iat"]), float(claims["exp"]))


@dataclass(frozen=True, slots=True)
class Verified:
    principal: Principal
    issued_at: float
    expires_at: float


class Passwords:
    """argon2id with the library's current recommended parameters."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # Verifying against this when the user does not exist costs the same time as a real
        # check, so response timing does not reveal which usernames exist.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and (
                password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


USERNAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10

_ADJECTIVES = (
    "calm", "gentle", "bright", "quiet", "steady", "kind", "brave", "warm", "clear", "soft",
    "patient", "hopeful", "sunny", "curious", "bold", "easy", "light", "silver", "golden",
    "misty", "green", "blue", "amber", "cosy", "open", "true", "wise", "swift", "still", "fresh",
)  # fmt: skip
_NOUNS = (
    "otter", "heron", "maple", "river", "harbor", "meadow", "sparrow", "willow", "pebble", "fern",
    "lantern", "comet", "badger", "finch", "cedar", "lake", "hill", "robin", "koala", "panda",
    "dolphin", "owl", "fox", "birch", "tide", "cloud", "brook", "wren", "seal", "moss",
)  # fmt: skip


def generate_handle() -> str:
    """A friendly random name: nothing personal, and unlinkable to any earlier session."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(90) + 10}"
