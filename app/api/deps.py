"""Typed dependencies: the domain context and the authenticated caller, checked by role."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.accounts.sign_in import resolve_principal
from app.core.context import Domain
from app.core.enums import Role
from app.core.errors import Forbidden, Unauthorized
from app.core.identity import Principal

_bearer = HTTPBearer(auto_error=False)


def get_domain(request: Request) -> Domain:
    domain: Domain = request.app.state.domain
    return domain


DomainDep = Annotated[Domain, Depends(get_domain)]


async def current_principal(
    domain: DomainDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")
    return await resolve_principal(domain, credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _role_dependency(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return principal

    return check


ParticipantCaller = Annotated[Principal, Depends(_role_dependency(Role.PARTICIPANT))]
PeerWorkerCaller = Annotated[Principal, Depends(_role_dependency(Role.PEER_WORKER))]
StaffCaller = Annotated[
    Principal, Depends(_role_dependency(Role.PEER_WORKER, Role.SUPERVISOR, Role.ADMIN))
]
SupervisorCaller = Annotated[Principal, Depends(_role_dependency(Role.SUPERVISOR, Role.ADMIN))]
AdminCaller = Annotated[Principal, Depends(_role_dependency(Role.ADMIN))]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]
