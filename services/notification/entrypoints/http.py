"""Notification's HTTP API: delivery records and suppressions."""

from __future__ import annotations

from typing import Annotated

from entitle_events.common import Email, Line
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.runtime.auth import Principal
from services.runtime.http import MAX_OFFSET, RuntimeDep, dependencies_of, errors, require

from ..domain.records import Delivery, DeliveryFilter, DeliveryStatus
from ..handlers import deliveries
from ..handlers.deliveries import Suppress, Unsubscribe
from .dependencies import NotificationDependencies

router = APIRouter(tags=["deliveries"])
# The status of each refusal notification's commands raise; any other refusal answers 409.
REFUSAL_STATUS = {"RECIPIENT_NOT_FOUND": 404, "INVALID_UNSUBSCRIBE_TOKEN": 403}


class DeliveryList(BaseModel):
    items: list[Delivery]


class SuppressionRequest(BaseModel):
    email: Email
    reason: Line = Field(default="unsubscribed", max_length=500)


@router.get("/deliveries", response_model=DeliveryList, responses=errors(401, 403))
async def list_deliveries(
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("deliveries:read"))],
    recipient: str | None = None,
    event_id: str | None = None,
    template: str | None = None,
    status: DeliveryStatus | None = None,
    correlation_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DeliveryList:
    """An account-bound key sees its own account's deliveries only."""
    wanted = DeliveryFilter(
        account_id=principal.account_id,
        recipient=recipient,
        event_id=event_id,
        template=template,
        status=status,
        correlation_id=correlation_id,
    )
    found = await deliveries.find(runtime.pool, wanted, limit, offset)
    return DeliveryList(items=found)


@router.post("/suppressions", status_code=204, responses=errors(401, 403, 404))
async def add_suppression(
    body: SuppressionRequest,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("suppressions:write"))],
) -> None:
    """An account-bound key may suppress only an address its account's mail went to."""
    command = Suppress(body.email, body.reason, principal.account_id)
    async with runtime.transaction() as ctx:
        await deliveries.suppress(ctx, command)


@router.post("/unsubscribe", status_code=200, tags=["deliveries"], responses=errors(403))
async def unsubscribe(
    email: str,
    token: str,
    runtime: RuntimeDep,
    provided: Annotated[
        NotificationDependencies, Depends(dependencies_of(NotificationDependencies))
    ],
) -> dict[str, str]:
    """One-click unsubscribe (RFC 8058) from the link in non-transactional mail: no more
    upgrade offers or surveys; keys, tickets and renewal notices still arrive."""
    async with runtime.transaction() as ctx:
        await deliveries.unsubscribe(ctx, Unsubscribe(email, token), provided.unsubscribe)
    return {"status": "unsubscribed", "email": email}
