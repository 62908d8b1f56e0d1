"""Notification's HTTP API: delivery records and suppressions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from entitle_events.common import Email, Line
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.runtime.auth import Principal
from services.runtime.errors import ApiError
from services.runtime.http import MAX_OFFSET, RuntimeDep, errors, require

from ..adapters import deliveries
from ..domain.unsubscribe import UnsubscribeLinks

router = APIRouter(tags=["deliveries"])


class DeliveryView(BaseModel):
    id: str
    event_id: str
    event_type: str
    correlation_id: str | None
    account_id: str | None
    template: str
    recipient: str
    transactional: bool
    subject: str
    message_id: str
    status: Literal["pending", "sending", "sent", "failed", "suppressed"]
    attempts: int = Field(
        description="Times the email was taken up for sending; more than one after a retry,"
        " or after a sender died with the email in flight (then it was sent again with the"
        " same Message-ID)."
    )
    last_error: str | None
    smtp_code: int | None
    created_at: datetime
    sent_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryView]


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
    status: Literal["pending", "sending", "sent", "failed", "suppressed"] | None = None,
    correlation_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DeliveryList:
    """An account-bound key sees its own account's deliveries only."""
    rows = await deliveries.search(
        runtime.pool,
        {
            "account_id": principal.account_id,
            "recipient": recipient,
            "event_id::text": event_id,
            "template": template,
            "status": status,
            "correlation_id": correlation_id,
        },
        limit,
        offset,
    )
    return DeliveryList(
        items=[
            DeliveryView(**{**r, "id": str(r["id"]), "event_id": str(r["event_id"])}) for r in rows
        ]
    )


@router.post("/suppressions", status_code=204, responses=errors(401, 403, 404))
async def add_suppression(
    body: SuppressionRequest,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require("suppressions:write"))],
) -> None:
    """An account-bound key may suppress only an address its account's mail went to."""
    if principal.account_id is not None and not await deliveries.mailed_by_account(
        runtime.pool, body.email, principal.account_id
    ):
        raise ApiError(404, "RECIPIENT_NOT_FOUND", "no email of this account went to this address")
    async with runtime.transaction() as ctx:
        await deliveries.suppress(ctx.conn, body.email, body.reason, ctx.now())


@router.post("/unsubscribe", status_code=200, tags=["deliveries"], responses=errors(403))
async def unsubscribe(email: str, token: str, runtime: RuntimeDep) -> dict[str, str]:
    """One-click unsubscribe (RFC 8058) from the link in non-transactional mail: no more
    upgrade offers or surveys; keys, tickets and renewal notices still arrive."""
    links: UnsubscribeLinks = runtime.state["unsubscribe"]
    if not links.valid(email, token):
        raise ApiError(403, "INVALID_UNSUBSCRIBE_TOKEN", "this unsubscribe link is not valid")
    async with runtime.transaction() as ctx:
        await deliveries.suppress(ctx.conn, email, "unsubscribed", ctx.now())
    return {"status": "unsubscribed", "email": email}
