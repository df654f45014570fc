"""Staff accounts, for admins: the HTTP twin of `peerchat users list|disable|enable|
set-password`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from app.accounts import admin
from app.api.deps import AdminCaller, DomainDep
from app.api.responses import AccountOut, AccountsOut, TypedRoute
from app.api.schemas import PasswordIn

router = APIRouter(route_class=TypedRoute, tags=["accounts"])


@router.get("/users", response_model=AccountsOut)
async def list_users(domain: DomainDep, caller: AdminCaller) -> dict[str, Any]:
    return {"users": await admin.list_accounts(domain, actor=caller)}


@router.post("/users/{user_id}/disable", response_model=AccountOut)
async def disable(domain: DomainDep, caller: AdminCaller, user_id: str) -> dict[str, Any]:
    return await admin.set_disabled(domain, actor=caller, disabled=True, user_id=user_id)


@router.post("/users/{user_id}/enable", response_model=AccountOut)
async def enable(domain: DomainDep, caller: AdminCaller, user_id: str) -> dict[str, Any]:
    return await admin.set_disabled(domain, actor=caller, disabled=False, user_id=user_id)


@router.post("/users/{user_id}/password", response_model=AccountOut)
async def set_password(
    domain: DomainDep, caller: AdminCaller, user_id: str, body: Annotated[PasswordIn, Body()]
) -> dict[str, Any]:
    return await admin.set_password(domain, actor=caller, password=body.password, user_id=user_id)
