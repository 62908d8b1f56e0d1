"""Events of support tickets (topic `ticketing.tickets`, keyed by ticket id)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from .common import AccountId, Email
from .envelope import EventData
from .topics import TICKETING_TICKETS

SupportTier = Literal["priority", "per_incident", "trial", "basic", "forum", "partner"]
TicketKind = Literal["technical", "restore", "setup", "presales"]


class TicketRef(EventData):
    ticket_id: str
    number: str = Field(description="Human-readable ticket number sent to the customer.")
    account_id: AccountId
    email: Email
    link: str = Field(description="Where the customer follows the ticket.")


class TicketOpened(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.opened.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    subject: str
    product: str
    version: str
    kind: TicketKind
    tier: SupportTier
    license_key: str | None = None
    opened_at: AwareDatetime
    first_response_due: AwareDatetime | None


class TicketRejected(EventData):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.rejected.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    request_id: str
    account_id: AccountId
    email: Email
    product: str
    version: str
    code: str
    reason: str
    pointer: str | None = Field(default=None, description="Where to go instead, e.g. the forum.")


class TicketResponded(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.responded.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    body: str
    responded_at: AwareDatetime


class TicketCustomerReplied(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.customer-replied.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    body: str
    replied_at: AwareDatetime


class TicketPending(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.pending.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    body: str
    contact_attempt: Annotated[int, Field(ge=1)]
    pending_at: AwareDatetime


class TicketSolved(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.solved.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    solved_at: AwareDatetime


class TicketClosed(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.closed.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    closed_at: AwareDatetime
    reason: Literal["customer", "agent", "no_reply", "solved"]
    survey_link: str | None = None


class TicketReopened(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.reopened.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    reopened_at: AwareDatetime


class TicketSlaBreached(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.sla-breached.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    target: Literal["first_response", "update", "resolution"]
    due_at: AwareDatetime
    tier: SupportTier


class SurveyAnswered(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.survey.answered.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    rating: Annotated[int, Field(ge=1, le=5)]
    comment: str = ""
    answered_at: AwareDatetime
