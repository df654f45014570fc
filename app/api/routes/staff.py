"""Staff profiles and the staff list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.accounts import staff
from app.api.deps import DomainDep, StaffCaller
from app.api.responses import ProfileOut, StaffOut, TypedRoute
from app.api.schemas import ProfileIn

router = APIRouter(route_class=TypedRoute, tags=["staff"])


@router.get("/me/profile", response_model=ProfileOut)
async def get_profile(domain: DomainDep, caller: StaffCaller) -> dict[str, Any]:
    return await staff.get_profile(domain, viewer=caller)


@router.put("/me/profile", response_model=ProfileOut)
async def update_profile(domain: DomainDep, caller: StaffCaller, body: ProfileIn) -> dict[str, Any]:
    return await staff.update_profile(
        domain, viewer=caller, topics=body.topics, languages=body.languages,
        experience_tags=body.experience_tags,
    )  # fmt: skip


@router.get("/staff", response_model=StaffOut)
async def list_staff(
    domain: DomainDep,
    caller: StaffCaller,
    role: Annotated[str | None, Query(pattern="^(peer_worker|supervisor|admin)$")] = None,
) -> dict[str, Any]:
    return {"staff": await staff.list_staff(domain, viewer=caller, role=role)}
