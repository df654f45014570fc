"""Anonymous sessions, staff accounts and sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.core.clock import new_id
from app.core.context import Domain
from app.core.enums import STAFF_ROLES, Role
from app.core.errors import BadRequest, Conflict, Locked, RateLimited, Unauthorized
from app.core.identity import (
    MIN_PASSWORD_LENGTH,
    USERNAME_RE,
    Principal,
    Verified,
    generate_handle,
)
from app.core.text import clean_language, clean_tags
from app.storage.models import Participant, User

MAX_PASSWORD_LENGTH = 1024
_BAD_LOGIN = "username or password is incorrect"


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    principal: Principal


def _check_address(domain: Domain, kind: str, address: str | None, per_minute: int) -> None:
    if domain.settings.address_rate_limits == "off" or not address:
        return
    allowed, retry_after = domain.address_limits.allow(kind, address, per_minute)
    if not allowed:
        raise RateLimited(
            "too many attempts from this address; wait and try again", retry_after=retry_after
        )


async def start_anonymous(
    domain: Domain, *, language: object = None, topics: object = None, address: str | None
) -> Session:
    _check_address(domain, "session", address, domain.settings.sessions_per_address_per_minute)
    participant = Participant(
        id=new_id("p"),
        handle=generate_handle(),
        language=clean_language(language),
        topics=clean_tags(topics, field="topics"),
    )
    async with domain.db.write() as session:
        session.add(participant)
    principal = Principal(id=participant.id, role=Role.PARTICIPANT, handle=participant.handle)
    token = domain.signer.issue(principal, domain.settings.participant_token_ttl_seconds)
    return Session(token=token, principal=principal)


async def login(
    domain: Domain, *, username: object, password: object, address: str | None
) -> Session:
    """One answer for an unknown user and a wrong password; repeated failures from one address
    lock that address out of the account (limits.LoginGuard)."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise BadRequest("username and password must be strings")
    _check_address(domain, "login", address, domain.settings.logins_per_address_per_minute)
    settings = domain.settings
    where = address or ""
    guard = domain.login_guard
    wait = guard.spraying_from(where)
    if wait:
        raise RateLimited(
            "too many failed sign-ins on this service; wait and try again", retry_after=wait
        )
    async with domain.db.read() as session:
        user = (
            await session.execute(select(User).where(User.username == username.strip()))
        ).scalar_one_or_none()
    if user is not None:
        locked = guard.locked_for(user.id, where)
        if locked:
            raise Locked(
                "too many failed sign-ins to this account from here; try again later",
                retry_after=locked,
            )
    ok = domain.passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        guard.failed(user.id if user is not None else "", where)
        raise Unauthorized(_BAD_LOGIN)
    guard.succeeded(user.id, where)
    principal = Principal(id=user.id, role=Role(user.role), handle=user.handle)
    return Session(domain.signer.issue(principal, settings.token_ttl_seconds), principal)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


async def create_staff(
    domain: Domain,
    *,
    username: str,
    role: str,
    password: str,
    handle: str | None = None,
    topics: list[str] | None = None,
    languages: list[str] | None = None,
) -> User:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise BadRequest(
            "username must be 2 to 64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if role not in STAFF_ROLES:
        raise BadRequest(f"role must be one of: {', '.join(sorted(STAFF_ROLES))}")
    check_password(password)
    user = User(
        id=new_id("u"),
        username=username,
        # Never the username: the handle is shown to participants ("sam, a peer supporter, has
        # joined"), and a sign-in name shown to strangers is half of a sign-in.
        handle=(handle or generate_handle())[:64],
        role=role,
        password_hash=domain.passwords.hash(password),
        topics=clean_tags(topics, field="topics"),
        languages=clean_tags(languages, field="languages"),
        experience_tags=[],
        disabled=False,
        failed_logins=0,
    )
    try:
        async with domain.db.write() as session:
            taken = (
                await session.execute(
                    select(func.count()).select_from(User).where(User.username == username)
                )
            ).scalar_one()
            if taken:
                raise Conflict(f"username {username!r} is taken")
            session.add(user)
    except IntegrityError:
        raise Conflict(f"username {username!r} is taken") from None
    return user


async def resolve_principal(domain: Domain, token: str) -> Principal:
    """Verify the token, then check the subject still exists and is allowed in."""
    return (await resolve_session(domain, token)).principal


async def resolve_session(domain: Domain, token: str) -> Verified:
    """As resolve_principal, with the token's expiry (open sockets close when it passes)."""
    verified = domain.signer.verify_token(token)
    claimed = verified.principal
    async with domain.db.read() as session:
        if claimed.is_participant:
            found = await session.get(Participant, claimed.id)
            if found is None:
                raise Unauthorized("this session has ended")
            principal = Principal(id=found.id, role=Role.PARTICIPANT, handle=found.handle)
            return Verified(principal, verified.issued_at, verified.expires_at)
        user = await session.get(User, claimed.id)
    if user is None or user.disabled or user.role != claimed.role:
        raise Unauthorized("this account is no longer active")
    if user.tokens_valid_after is not None and verified.issued_at < int(
        user.tokens_valid_after.timestamp()
    ):
        raise Unauthorized("this sign-in has ended (the password changed); sign in again")
    principal = Principal(id=user.id, role=Role(user.role), handle=user.handle)
    return Verified(principal, verified.issued_at, verified.expires_at)
