"""Anonymous sessions for participants and sign-in for staff."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from app.accounts import sign_in
from app.api.deps import ClientAddress, CurrentPrincipal, DomainDep
from app.api.responses import AnonymousSessionOut, LoginOut, MeOut, TypedRoute
from app.api.schemas import AnonymousSessionIn, LoginIn

router = APIRouter(route_class=TypedRoute, tags=["sessions"])


@router.post("/sessions/anonymous", status_code=201, response_model=AnonymousSessionOut)
async def create_anonymous(
    domain: DomainDep,
    address: ClientAddress,
    body: Annotated[AnonymousSessionIn | None, Body()] = None,
) -> dict[str, Any]:
    body = body or AnonymousSessionIn()
    session = await sign_in.start_anonymous(
        domain, language=body.language, topics=body.topics, address=address
    )
    return {
        "token": session.token,
        "participant_id": session.principal.id,
        "handle": session.principal.handle,
    }


@router.post("/auth/login", response_model=LoginOut)
async def login(domain: DomainDep, address: ClientAddress, body: LoginIn) -> dict[str, Any]:
    session = await sign_in.login(
        domain, username=body.username, password=body.password, address=address
    )
    return {
        "token": session.token,
        "user_id": session.principal.id,
        "role": session.principal.role,
        "handle": session.principal.handle,
    }


@router.get("/me", response_model=MeOut)
async def me(caller: CurrentPrincipal) -> dict[str, Any]:
    return {"id": caller.id, "role": caller.role, "handle": caller.handle}
