"""The ticket state machine as a pure function.

``apply(ticket, command, at) -> (ticket', events)``; illegal commands raise `TransitionError`
with a stable code. ``open_ticket`` creates a ticket in state ``new``.

Transitions (state after, or the error code)::

    command            new            open           pending          solved          closed
    AgentRespond       open (1st)     open           pending (+1)     TICKET_SOLVED   TICKET_CLOSED
    AgentRequestInfo   pending (1st)  pending (=1)   pending (+1)     TICKET_SOLVED   TICKET_CLOSED
    CustomerReply      new            open           open (reset)     open (reopen)   TICKET_CLOSED
    Solve              NOT_RESPONDED  solved         solved           ALREADY_SOLVED  TICKET_CLOSED
    CustomerClose      closed         closed         closed           closed          TICKET_CLOSED
    Close              NOT_SOLVED     NOT_SOLVED     NOT_SOLVED       closed          TICKET_CLOSED
    AutoClose          NOT_PENDING    NOT_PENDING    closed | *       NOT_PENDING     TICKET_CLOSED
    Reopen             ALREADY_OPEN   ALREADY_OPEN   ALREADY_OPEN     open            open
    AnswerSurvey       NOT_CLOSED     NOT_CLOSED     NOT_CLOSED       NOT_CLOSED      closed | **

    (1st) records the first response; (+1) every agent message while pending is a contact
    attempt; (reset) the customer's reply ends the pause and resets the attempts to 0;
    * AUTO_CLOSE_NOT_DUE unless >= 3 attempts and >= 10 days since the first of them;
    ** SURVEY_ALREADY_ANSWERED / INVALID_RATING.

Decisions the seeds leave open:

* An agent message on a *new* ticket that asks for information is its first response too:
  the ticket passes through ``open`` (event `Responded`) into ``pending`` (event `Pending`).
* An agent message on a pending ticket (respond or request info) is a contact attempt; the
  ticket stays pending.
* A customer reply on a *solved* ticket reopens it (`Reopened` + `CustomerReplied`); on a
  *closed* ticket it is refused (TICKET_CLOSED): the customer presses "Reopen" first.
* The auto-close window is real elapsed time (10 x 24 h) from the first contact attempt of
  the current pending spell to the auto-close command; the rule is the command's defaults.
* Reopening resets the attempts and keeps the first response (same ticket, same number).
* The survey is answered at most once per ticket, even across reopen/close cycles.
* Every time stored in a ticket or event is UTC (``at`` is converted), so the 10 days are
  real days across DST.
* Time never runs backwards for a ticket: an ``at`` earlier than the ticket's last change
  is treated as that moment (clock skew between service copies must not break invariants).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, assert_never

from .sla import Pause

Status = Literal["new", "open", "pending", "solved", "closed"]
CloseReason = Literal["customer", "no_reply", "solved"]
ErrorCode = Literal[
    "TICKET_CLOSED",
    "TICKET_SOLVED",
    "ALREADY_OPEN",
    "ALREADY_SOLVED",
    "NOT_PENDING",
    "NOT_SOLVED",
    "NOT_CLOSED",
    "NOT_RESPONDED",
    "AUTO_CLOSE_NOT_DUE",
    "SURVEY_ALREADY_ANSWERED",
    "INVALID_RATING",
]

AUTO_CLOSE_ATTEMPTS = 3
AUTO_CLOSE_WINDOW = timedelta(days=10)


class TransitionError(Exception):
    """A command the ticket's state does not allow; `code` is stable, `detail` is prose."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: ErrorCode = code
        self.detail = detail


@dataclass(frozen=True)
class Survey:
    rating: int
    comment: str
    answered_at: datetime


@dataclass(frozen=True)
class Ticket:
    """State of one ticket. Never mutated: `apply` returns a new one.

    ``contact_attempts`` counts agent messages of the current pending spell (0 outside
    pending, except that a ticket closed while pending keeps its count as history; solving,
    a customer reply and reopening reset it);
    ``first_attempt_at`` is the first of them. ``pauses`` are the spans spent pending (the
    last one open while pending), ready for `sla.due_at`.
    """

    ticket_id: str
    status: Status
    opened_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    contact_attempts: int = 0
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_customer_reply_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    reopen_count: int = 0
    survey: Survey | None = None

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    def auto_close_due_at(
        self, attempts: int = AUTO_CLOSE_ATTEMPTS, window: timedelta = AUTO_CLOSE_WINDOW
    ) -> datetime | None:
        """When `AutoClose` will succeed: None unless pending with enough attempts."""
        if self.status != "pending" or self.contact_attempts < attempts:
            return None
        assert self.first_attempt_at is not None
        return self.first_attempt_at + window


# -- commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRespond:
    """An agent's message to the customer."""

    body: str = ""


@dataclass(frozen=True)
class AgentRequestInfo:
    """An agent's message that waits on the customer: sets the ticket pending."""

    body: str = ""


@dataclass(frozen=True)
class CustomerReply:
    body: str = ""


@dataclass(frozen=True)
class Solve:
    pass


@dataclass(frozen=True)
class CustomerClose:
    pass


@dataclass(frozen=True)
class Close:
    """Agent or system closes a solved ticket (reason ``solved``)."""


@dataclass(frozen=True)
class AutoClose:
    """The scheduler closes a ticket that went unanswered (reason ``no_reply``)."""

    min_attempts: int = AUTO_CLOSE_ATTEMPTS
    window: timedelta = AUTO_CLOSE_WINDOW


@dataclass(frozen=True)
class Reopen:
    pass


@dataclass(frozen=True)
class AnswerSurvey:
    rating: int
    comment: str = ""


Command = (
    AgentRespond
    | AgentRequestInfo
    | CustomerReply
    | Solve
    | CustomerClose
    | Close
    | AutoClose
    | Reopen
    | AnswerSurvey
)

# -- events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    ticket_id: str
    at: datetime


@dataclass(frozen=True)
class Responded:
    ticket_id: str
    at: datetime
    body: str
    first_response: bool


@dataclass(frozen=True)
class Pending:
    """The ticket waits on the customer; one per contact attempt."""

    ticket_id: str
    at: datetime
    body: str
    contact_attempt: int


@dataclass(frozen=True)
class CustomerReplied:
    ticket_id: str
    at: datetime
    body: str


@dataclass(frozen=True)
class Solved:
    ticket_id: str
    at: datetime


@dataclass(frozen=True)
class Closed:
    ticket_id: str
    at: datetime
    reason: CloseReason


@dataclass(frozen=True)
class Reopened:
    ticket_id: str
    at: datetime


@dataclass(frozen=True)
class SurveyAnswered:
    ticket_id: str
    at: datetime
    rating: int
    comment: str


Event = Opened | Responded | Pending | CustomerReplied | Solved | Closed | Reopened | SurveyAnswered

# -- transitions ------------------------------------------------------------------------


def open_ticket(ticket_id: str, at: datetime) -> tuple[Ticket, list[Event]]:
    """A new ticket, not yet answered."""
    at = _utc(at)
    return Ticket(ticket_id=ticket_id, status="new", opened_at=at, updated_at=at), [
        Opened(ticket_id, at)
    ]


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be a timezone-aware datetime, got {at!r}")
    return at.astimezone(UTC)


def _end_pause(ticket: Ticket, at: datetime) -> tuple[Pause, ...]:
    if ticket.pauses and ticket.pauses[-1].end is None:
        return (*ticket.pauses[:-1], Pause(ticket.pauses[-1].start, at))
    return ticket.pauses


def _refuse_closed_or_solved(ticket: Ticket) -> None:
    if ticket.status == "closed":
        raise TransitionError("TICKET_CLOSED", "the ticket is closed; reopen it first")
    if ticket.status == "solved":
        raise TransitionError("TICKET_SOLVED", "the ticket is solved; reopen it first")


def _respond(ticket: Ticket, at: datetime) -> tuple[Ticket, list[Event]]:
    """new/open -> open, recording the first response."""
    first = ticket.first_response_at is None
    new = replace(
        ticket,
        status="open",
        first_response_at=at if first else ticket.first_response_at,
        updated_at=at,
    )
    return new, []


def _contact_attempt(ticket: Ticket, at: datetime, body: str) -> tuple[Ticket, list[Event]]:
    """open -> pending (attempt 1), or pending -> pending (attempt + 1)."""
    if ticket.status == "pending":
        attempts = ticket.contact_attempts + 1
        first_attempt = ticket.first_attempt_at
        pauses = ticket.pauses
    else:
        attempts = 1
        first_attempt = at
        pauses = (*ticket.pauses, Pause(at, None))
    new = replace(
        ticket,
        status="pending",
        contact_attempts=attempts,
        first_attempt_at=first_attempt,
        last_attempt_at=at,
        pauses=pauses,
        updated_at=at,
    )
    return new, [Pending(ticket.ticket_id, at, body, attempts)]


def _close(ticket: Ticket, at: datetime, reason: CloseReason) -> tuple[Ticket, list[Event]]:
    new = replace(
        ticket,
        status="closed",
        closed_at=at,
        close_reason=reason,
        pauses=_end_pause(ticket, at),
        updated_at=at,
    )
    return new, [Closed(ticket.ticket_id, at, reason)]


def _reopen(ticket: Ticket, at: datetime) -> tuple[Ticket, list[Event]]:
    new = replace(
        ticket,
        status="open",
        contact_attempts=0,
        first_attempt_at=None,
        last_attempt_at=None,
        solved_at=None,
        closed_at=None,
        close_reason=None,
        reopen_count=ticket.reopen_count + 1,
        updated_at=at,
    )
    return new, [Reopened(ticket.ticket_id, at)]


def apply(ticket: Ticket, command: Command, at: datetime) -> tuple[Ticket, list[Event]]:
    """Apply one command at `at`; the new state and the events it emits, in order.

    Raises `TransitionError` when the state does not allow the command (the ticket is then
    unchanged) and ``ValueError`` for a naive `at`.
    """
    at = max(_utc(at), ticket.updated_at)
    tid = ticket.ticket_id
    status = ticket.status

    match command:
        case AgentRespond(body=body):
            _refuse_closed_or_solved(ticket)
            if status == "pending":
                return _contact_attempt(ticket, at, body)
            first = ticket.first_response_at is None
            new, _ = _respond(ticket, at)
            return new, [Responded(tid, at, body, first)]

        case AgentRequestInfo(body=body):
            _refuse_closed_or_solved(ticket)
            events: list[Event] = []
            if status == "new":
                ticket, _ = _respond(ticket, at)
                events.append(Responded(tid, at, body, True))
            ticket, more = _contact_attempt(ticket, at, body)
            return ticket, events + more

        case CustomerReply(body=body):
            if status == "closed":
                raise TransitionError("TICKET_CLOSED", "the ticket is closed; reopen it first")
            events = []
            if status == "solved":
                ticket, events = _reopen(ticket, at)
            elif status == "pending":
                ticket = replace(
                    ticket,
                    status="open",
                    contact_attempts=0,
                    first_attempt_at=None,
                    last_attempt_at=None,
                    pauses=_end_pause(ticket, at),
                )
            ticket = replace(ticket, last_customer_reply_at=at, updated_at=at)
            return ticket, [*events, CustomerReplied(tid, at, body)]

        case Solve():
            if status == "closed":
                raise TransitionError("TICKET_CLOSED", "the ticket is closed")
            if status == "solved":
                raise TransitionError("ALREADY_SOLVED", "the ticket is already solved")
            if status == "new":
                raise TransitionError("NOT_RESPONDED", "answer a new ticket before solving it")
            new = replace(
                ticket,
                status="solved",
                solved_at=at,
                contact_attempts=0,
                first_attempt_at=None,
                last_attempt_at=None,
                pauses=_end_pause(ticket, at),
                updated_at=at,
            )
            return new, [Solved(tid, at)]

        case CustomerClose():
            if status == "closed":
                raise TransitionError("TICKET_CLOSED", "the ticket is already closed")
            return _close(ticket, at, "customer")

        case Close():
            if status == "closed":
                raise TransitionError("TICKET_CLOSED", "the ticket is already closed")
            if status != "solved":
                raise TransitionError("NOT_SOLVED", f"only a solved ticket closes; it is {status}")
            return _close(ticket, at, "solved")

        case AutoClose(min_attempts=min_attempts, window=window):
            if status == "closed":
                raise TransitionError("TICKET_CLOSED", "the ticket is already closed")
            if status != "pending":
                raise TransitionError("NOT_PENDING", f"only a pending ticket auto-closes; {status}")
            due = ticket.auto_close_due_at(min_attempts, window)
            if due is None:
                raise TransitionError(
                    "AUTO_CLOSE_NOT_DUE",
                    f"{ticket.contact_attempts} of {min_attempts} contact attempts made",
                )
            if at < due:
                raise TransitionError("AUTO_CLOSE_NOT_DUE", f"the customer has until {due}")
            return _close(ticket, at, "no_reply")

        case Reopen():
            if status not in ("closed", "solved"):
                raise TransitionError("ALREADY_OPEN", f"the ticket is {status}, not closed")
            return _reopen(ticket, at)

        case AnswerSurvey(rating=rating, comment=comment):
            if status != "closed":
                raise TransitionError("NOT_CLOSED", "the survey opens when the ticket closes")
            if ticket.survey is not None:
                raise TransitionError(
                    "SURVEY_ALREADY_ANSWERED",
                    f"the survey was answered at {ticket.survey.answered_at}",
                )
            if not 1 <= rating <= 5:
                raise TransitionError("INVALID_RATING", f"rating {rating} is not 1..5")
            new = replace(ticket, survey=Survey(rating, comment, at), updated_at=at)
            return new, [SurveyAnswered(tid, at, rating, comment)]

        case _:
            assert_never(command)
