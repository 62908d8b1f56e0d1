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
    actor: str | None = Field(
        default=None,
        description="Who did it: an agent's or the customer's address, an API key's name, or"
        " `system` for the schedulers.",
    )


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


SlaTargetName = Literal["first_response", "update", "resolution"]


class TicketSlaBreached(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.sla-breached.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    target: SlaTargetName
    due_at: AwareDatetime
    tier: SupportTier
    cycle: Annotated[int, Field(ge=1)] = Field(
        default=1,
        description="Which cycle of the target: the update target re-arms after every"
        " customer reply, a reopen starts new cycles. One breach per target and cycle.",
    )
    assignee: Email | None = Field(default=None, description="The agent the ticket is assigned to.")
    desk_link: str | None = Field(default=None, description="The ticket in the support desk.")


class TicketSlaWarning(TicketRef):
    """A target is about to be missed; sent once per target and cycle, only at an instant
    inside business hours."""

    event_type: ClassVar[str] = "entitle.ticketing.ticket.sla-warning.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    target: SlaTargetName
    cycle: Annotated[int, Field(ge=1)]
    due_at: AwareDatetime
    warned_at: AwareDatetime
    business_minutes_left: Annotated[int, Field(ge=0)]
    tier: SupportTier
    subject: str
    assignee: Email | None = Field(default=None, description="The agent the ticket is assigned to.")
    desk_link: str = Field(description="The ticket in the support desk.")


class TicketAssigned(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.ticket.assigned.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    assignee: Email | None = Field(description="The agent now responsible; null: unassigned.")
    previous_assignee: Email | None = None
    assigned_at: AwareDatetime


class TicketNoteAdded(TicketRef):
    """An internal note by an agent: never shown or emailed to the customer."""

    event_type: ClassVar[str] = "entitle.ticketing.ticket.note-added.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    body: str
    noted_at: AwareDatetime


class TicketTierChanged(TicketRef):
    """The customer's entitlement changed while the ticket was open (a renewal, a lapse, a
    plan bought or refunded): the ticket's tier follows it."""

    event_type: ClassVar[str] = "entitle.ticketing.ticket.tier-changed.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    previous_tier: SupportTier
    tier: SupportTier
    reason: str = Field(description="Why the ticket has its new tier, in words.")
    changed_at: AwareDatetime


class SurveyAnswered(TicketRef):
    event_type: ClassVar[str] = "entitle.ticketing.survey.answered.v1"
    topic: ClassVar[str] = TICKETING_TICKETS

    rating: Annotated[int, Field(ge=1, le=5)]
    comment: str = ""
    answered_at: AwareDatetime
