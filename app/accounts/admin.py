"""Operators and admins manage staff accounts: list, disable, enable, set a password.

A disabled account is refused at once on HTTP (every request looks the account up) and its open
sockets on every node close with 4401 within `PEERCHAT_SESSION_CHECK_SECONDS` (each node's hub
re-checks its own connections; nothing depends on the bus, so a hung Redis delays nothing). A
new password also ends every sign-in made with the old one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.sign_in import check_password
from app.core import audit
from app.core.clock import iso, utcnow
from app.core.context import Domain
from app.core.enums import Role
from app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from app.core.identity import Principal
from app.storage.models import User

OPERATOR = Principal(id="operator", role=Role.ADMIN, handle="operator")
"""Who the command line acts as in the audit log: whoever runs it holds the database anyway."""


def account_view(user: User) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "username": user.username,
        "handle": user.handle,
        "role": user.role,
        "disabled": bool(user.disabled),
        "created_at": iso(user.created_at),
    }


def _require_admin(actor: Principal) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins manage accounts")


async def list_accounts(domain: Domain, *, actor: Principal) -> list[dict[str, Any]]:
    _require_admin(actor)
    async with domain.db.read() as session:
        users = (await session.execute(select(User).order_by(User.username))).scalars()
        return [account_view(user) for user in users]


async def _find(session: Any, *, user_id: str | None, username: str | None) -> User:
    query = select(User).with_for_update()
    if user_id is not None:
        query = query.where(User.id == user_id)
    elif username is not None:
        query = query.where(User.username == username.strip())
    else:
        raise BadRequest("name an account by user id or username")
    user: User | None = (await session.execute(query)).scalar_one_or_none()
    if user is None:
        raise NotFound("no such account")
    return user


async def set_disabled(
    domain: Domain,
    *,
    actor: Principal,
    disabled: bool,
    user_id: str | None = None,
    username: str | None = None,
) -> dict[str, Any]:
    _require_admin(actor)
    async with domain.db.write() as session:
        user = await _find(session, user_id=user_id, username=username)
        if disabled and user.id == actor.id:
            raise Conflict("you cannot disable your own account")
        user.disabled = disabled
        audit.record(
            session,
            actor=actor,
            action="account_disabled" if disabled else "account_enabled",
            target_id=user.id,
        )
        return account_view(user)


async def set_password(
    domain: Domain,
    *,
    actor: Principal,
    password: object,
    user_id: str | None = None,
    username: str | None = None,
) -> dict[str, Any]:
    """A new password; every token issued before it stops working (HTTP at once, sockets within
    the session check). Sign-in locks live in each node's memory and lift by themselves."""
    _require_admin(actor)
    if not isinstance(password, str):
        raise BadRequest("password must be a string")
    check_password(password)
    password_hash = domain.passwords.hash(password)
    async with domain.db.write() as session:
        user = await _find(session, user_id=user_id, username=username)
        user.password_hash = password_hash
        user.tokens_valid_after = utcnow()
        audit.record(session, actor=actor, action="account_password_set", target_id=user.id)
        return account_view(user)
