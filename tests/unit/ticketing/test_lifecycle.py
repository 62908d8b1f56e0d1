"""Ticket state machine: the full transition table, scenarios and random command sequences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ticketing.domain.lifecycle import (
    AgentRequestInfo,
    AgentRespond,
    AnswerSurvey,
    AutoClose,
    Close,
    Closed,
    Command,
    CustomerClose,
    CustomerReplied,
    CustomerReply,
    Event,
    Opened,
    Pending,
    Reopen,
    Reopened,
    Responded,
    Solve,
    Solved,
    SurveyAnswered,
    Ticket,
    TransitionError,
    apply,
    open_ticket,
)
from services.ticketing.domain.sla import Pause, due_at

from .support import CAL, berlin, fast

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def run(
    *steps: tuple[Command, datetime], ticket: Ticket | None = None
) -> tuple[Ticket, list[Event]]:
    if ticket is None:
        ticket, events = open_ticket("t-1", T0)
    else:
        events = []
    for command, at in steps:
        ticket, more = apply(ticket, command, at)
        events += more
    return ticket, events


def in_state(status: str) -> Ticket:
    """A ticket brought to `status` through legal commands."""
    paths: dict[str, list[Command]] = {
        "new": [],
        "open": [AgentRespond("hi")],
        "pending": [AgentRespond("hi"), AgentRequestInfo("logs?")],
        "solved": [AgentRespond("hi"), Solve()],
        "closed": [AgentRespond("hi"), CustomerClose()],
    }
    ticket, _ = run(*((c, T0 + i * timedelta(hours=1)) for i, c in enumerate(paths[status])))
    assert ticket.status == status
    return ticket


# -- the transition table ---------------------------------------------------------------------

OK = None
TABLE: dict[str, dict[str, str | None]] = {
    # command: {state: resulting state, or error code}
    "AgentRespond": {
        "new": "open",
        "open": "open",
        "pending": "pending",
        "solved": "TICKET_SOLVED",
        "closed": "TICKET_CLOSED",
    },
    "AgentRequestInfo": {
        "new": "pending",
        "open": "pending",
        "pending": "pending",
        "solved": "TICKET_SOLVED",
        "closed": "TICKET_CLOSED",
    },
    "CustomerReply": {
        "new": "new",
        "open": "open",
        "pending": "open",
        "solved": "open",
        "closed": "TICKET_CLOSED",
    },
    "Solve": {
        "new": "NOT_RESPONDED",
        "open": "solved",
        "pending": "solved",
        "solved": "ALREADY_SOLVED",
        "closed": "TICKET_CLOSED",
    },
    "CustomerClose": {
        "new": "closed",
        "open": "closed",
        "pending": "closed",
        "solved": "closed",
        "closed": "TICKET_CLOSED",
    },
    "Close": {
        "new": "NOT_SOLVED",
        "open": "NOT_SOLVED",
        "pending": "NOT_SOLVED",
        "solved": "closed",
        "closed": "TICKET_CLOSED",
    },
    "AutoClose": {
        "new": "NOT_PENDING",
        "open": "NOT_PENDING",
        "pending": "AUTO_CLOSE_NOT_DUE",  # one attempt only
        "solved": "NOT_PENDING",
        "closed": "TICKET_CLOSED",
    },
    "Reopen": {
        "new": "ALREADY_OPEN",
        "open": "ALREADY_OPEN",
        "pending": "ALREADY_OPEN",
        "solved": "open",
        "closed": "open",
    },
    "AnswerSurvey": {
        "new": "NOT_CLOSED",
        "open": "NOT_CLOSED",
        "pending": "NOT_CLOSED",
        "solved": "NOT_CLOSED",
        "closed": "closed",
    },
}
COMMANDS: dict[str, Command] = {
    "AgentRespond": AgentRespond("a"),
    "AgentRequestInfo": AgentRequestInfo("b"),
    "CustomerReply": CustomerReply("c"),
    "Solve": Solve(),
    "CustomerClose": CustomerClose(),
    "Close": Close(),
    "AutoClose": AutoClose(),
    "Reopen": Reopen(),
    "AnswerSurvey": AnswerSurvey(5, "great"),
}
STATES = ["new", "open", "pending", "solved", "closed"]


@pytest.mark.parametrize("command", sorted(TABLE))
@pytest.mark.parametrize("state", STATES)
def test_transition_table(command: str, state: str) -> None:
    ticket = in_state(state)
    expected = TABLE[command][state]
    at = T0 + 30 * DAY
    assert expected is not None
    if expected.isupper():
        with pytest.raises(TransitionError) as caught:
            apply(ticket, COMMANDS[command], at)
        assert caught.value.code == expected
        assert caught.value.detail
        assert expected in str(caught.value)
    else:
        new, events = apply(ticket, COMMANDS[command], at)
        assert new.status == expected
        assert events
        assert all(e.at == at for e in events)
        assert new.updated_at == at


# -- scenarios --------------------------------------------------------------------------------


def test_open_ticket() -> None:
    ticket, events = open_ticket("t-1", berlin(2026, 1, 5, 10))
    assert ticket.status == "new"
    assert ticket.opened_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert ticket.opened_at.tzinfo is UTC
    assert events == [Opened("t-1", ticket.opened_at)]
    with pytest.raises(ValueError, match="timezone-aware"):
        open_ticket("t-2", datetime(2026, 1, 5, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        apply(ticket, Solve(), datetime(2026, 1, 5, 10))


def test_first_response_is_recorded_once() -> None:
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    ticket, events = run((AgentRespond("one"), t1), (AgentRespond("two"), t2))
    assert ticket.first_response_at == t1
    assert [e for e in events if isinstance(e, Responded)] == [
        Responded("t-1", t1, "one", True),
        Responded("t-1", t2, "two", False),
    ]


def test_request_info_on_a_new_ticket_responds_then_waits() -> None:
    t1 = T0 + timedelta(hours=1)
    ticket, events = run((AgentRequestInfo("logs?"), t1))
    assert ticket.status == "pending"
    assert ticket.first_response_at == t1
    assert events[1:] == [Responded("t-1", t1, "logs?", True), Pending("t-1", t1, "logs?", 1)]
    assert ticket.pauses == (Pause(t1, None),)


def test_every_agent_message_while_pending_is_a_contact_attempt() -> None:
    ticket, events = run(
        (AgentRespond("hi"), T0),
        (AgentRequestInfo("logs?"), T0 + DAY),
        (AgentRespond("any news?"), T0 + 4 * DAY),
        (AgentRequestInfo("still there?"), T0 + 8 * DAY),
    )
    assert ticket.status == "pending"
    assert ticket.contact_attempts == 3
    assert ticket.first_attempt_at == T0 + DAY
    assert ticket.last_attempt_at == T0 + 8 * DAY
    assert [e.contact_attempt for e in events if isinstance(e, Pending)] == [1, 2, 3]
    assert ticket.pauses == (Pause(T0 + DAY, None),)


def bumped(*days: int) -> Ticket:
    """Pending with one contact attempt on each of the given days after T0."""
    steps: list[tuple[Command, datetime]] = [(AgentRespond("hi"), T0)]
    steps += [(AgentRequestInfo(f"attempt {d}"), T0 + d * DAY) for d in days]
    ticket, _ = run(*steps)
    return ticket


def test_auto_close_on_the_third_unanswered_attempt_after_ten_days() -> None:
    ticket = bumped(1, 5, 11)  # first attempt day 1, third on day 11: 10 days later
    assert ticket.auto_close_due_at() == T0 + 11 * DAY
    closed, events = apply(ticket, AutoClose(), T0 + 11 * DAY)
    assert closed.status == "closed"
    assert closed.close_reason == "no_reply"
    assert closed.contact_attempts == 3  # kept as history
    assert closed.pauses == (Pause(T0 + DAY, T0 + 11 * DAY),)
    assert events == [Closed("t-1", T0 + 11 * DAY, "no_reply")]


def test_no_auto_close_before_ten_days() -> None:
    ticket = bumped(1, 3, 6)
    with pytest.raises(TransitionError) as caught:
        apply(ticket, AutoClose(), T0 + 11 * DAY - timedelta(seconds=1))
    assert caught.value.code == "AUTO_CLOSE_NOT_DUE"
    closed, _ = apply(ticket, AutoClose(), T0 + 11 * DAY)
    assert closed.close_reason == "no_reply"


def test_no_auto_close_after_only_two_attempts() -> None:
    ticket = bumped(1, 9)
    assert ticket.auto_close_due_at() is None
    with pytest.raises(TransitionError) as caught:
        apply(ticket, AutoClose(), T0 + 60 * DAY)
    assert caught.value.code == "AUTO_CLOSE_NOT_DUE"
    assert "2 of 3" in caught.value.detail


def test_ten_days_are_real_days_across_dst() -> None:
    # First attempt Friday before the spring switch, Berlin time: ten real days later is
    # one wall-clock hour later than the same wall time.
    start = berlin(2026, 3, 27, 10)
    ticket, _ = open_ticket("t-1", start)
    for day in (0, 4, 8):
        ticket, _ = apply(ticket, AgentRequestInfo(), start + timedelta(days=day))
    due = ticket.auto_close_due_at()
    assert due == datetime(2026, 4, 6, 9, tzinfo=UTC) == berlin(2026, 4, 6, 11)


def test_auto_close_rule_is_configurable() -> None:
    ticket = bumped(1, 2)
    closed, _ = apply(ticket, AutoClose(min_attempts=2, window=timedelta(days=3)), T0 + 4 * DAY)
    assert closed.close_reason == "no_reply"


def test_customer_reply_reopens_pending_and_resets_attempts() -> None:
    ticket = bumped(1, 5)
    replied, events = apply(ticket, CustomerReply("here are the logs"), T0 + 6 * DAY)
    assert replied.status == "open"
    assert replied.contact_attempts == 0
    assert replied.first_attempt_at is None
    assert replied.last_customer_reply_at == T0 + 6 * DAY
    assert replied.pauses == (Pause(T0 + DAY, T0 + 6 * DAY),)
    assert events == [CustomerReplied("t-1", T0 + 6 * DAY, "here are the logs")]
    # The count starts over: two more attempts and ten days do not close it.
    again = bumped(1, 5)
    again, _ = apply(again, CustomerReply(), T0 + 6 * DAY)
    again, _ = apply(again, AgentRequestInfo(), T0 + 7 * DAY)
    again, _ = apply(again, AgentRequestInfo(), T0 + 8 * DAY)
    assert again.contact_attempts == 2
    assert again.first_attempt_at == T0 + 7 * DAY
    with pytest.raises(TransitionError):
        apply(again, AutoClose(), T0 + 30 * DAY)
    assert len(again.pauses) == 2


def test_customer_close_at_any_time() -> None:
    for state in ["new", "open", "pending", "solved"]:
        closed, events = apply(in_state(state), CustomerClose(), T0 + DAY)
        assert closed.close_reason == "customer"
        assert events == [Closed("t-1", T0 + DAY, "customer")]


def test_solve_then_close_and_survey_once() -> None:
    ticket, events = run(
        (AgentRespond("try this"), T0),
        (Solve(), T0 + DAY),
        (Close(), T0 + 2 * DAY),
        (AnswerSurvey(4, "quick"), T0 + 3 * DAY),
    )
    assert ticket.close_reason == "solved"
    assert ticket.survey is not None and ticket.survey.rating == 4
    assert events[-3:] == [
        Solved("t-1", T0 + DAY),
        Closed("t-1", T0 + 2 * DAY, "solved"),
        SurveyAnswered("t-1", T0 + 3 * DAY, 4, "quick"),
    ]
    with pytest.raises(TransitionError) as caught:
        apply(ticket, AnswerSurvey(5), T0 + 4 * DAY)
    assert caught.value.code == "SURVEY_ALREADY_ANSWERED"
    # Still answered once after a reopen and a second close.
    ticket, _ = run((Reopen(), T0 + 5 * DAY), (CustomerClose(), T0 + 6 * DAY), ticket=ticket)
    with pytest.raises(TransitionError) as caught:
        apply(ticket, AnswerSurvey(1), T0 + 7 * DAY)
    assert caught.value.code == "SURVEY_ALREADY_ANSWERED"


def test_survey_only_after_close_and_rating_range() -> None:
    with pytest.raises(TransitionError) as caught:
        apply(in_state("solved"), AnswerSurvey(5), T0 + DAY)
    assert caught.value.code == "NOT_CLOSED"
    for rating in (0, 6):
        with pytest.raises(TransitionError) as caught:
            apply(in_state("closed"), AnswerSurvey(rating), T0 + DAY)
        assert caught.value.code == "INVALID_RATING"


def test_reopen_keeps_the_ticket_and_its_first_response() -> None:
    closed = bumped(1, 5, 11)
    closed, _ = apply(closed, AutoClose(), T0 + 12 * DAY)
    reopened, events = apply(closed, Reopen(), T0 + 13 * DAY)
    assert reopened.ticket_id == closed.ticket_id
    assert reopened.opened_at == closed.opened_at
    assert reopened.first_response_at == T0
    assert reopened.status == "open"
    assert reopened.reopen_count == 1
    assert reopened.contact_attempts == 0
    assert reopened.close_reason is None and reopened.closed_at is None
    assert events == [Reopened("t-1", T0 + 13 * DAY)]


def test_customer_reply_on_a_solved_ticket_reopens_it() -> None:
    solved = in_state("solved")
    reopened, events = apply(solved, CustomerReply("still broken"), T0 + DAY)
    assert reopened.status == "open"
    assert reopened.solved_at is None
    assert events == [Reopened("t-1", T0 + DAY), CustomerReplied("t-1", T0 + DAY, "still broken")]


def test_a_closed_ticket_refuses_replies_until_reopened() -> None:
    closed = in_state("closed")
    with pytest.raises(TransitionError) as caught:
        apply(closed, CustomerReply("one more thing"), T0 + DAY)
    assert caught.value.code == "TICKET_CLOSED"
    reopened, _ = apply(closed, Reopen(), T0 + DAY)
    replied, _ = apply(reopened, CustomerReply("one more thing"), T0 + DAY)
    assert replied.status == "open"


def test_time_never_runs_backwards() -> None:
    ticket = in_state("open")
    earlier = ticket.updated_at - timedelta(minutes=5)
    pending, events = apply(ticket, AgentRequestInfo(), earlier)
    assert pending.updated_at == ticket.updated_at
    assert events[0].at == ticket.updated_at


def test_pauses_feed_the_sla_timer() -> None:
    # Per-incident ticket opened Monday 10:00; pending 12:00 until the reply Tuesday 12:00.
    ticket, _ = open_ticket("t-1", berlin(2026, 1, 19, 10))
    ticket, _ = apply(ticket, AgentRequestInfo("which version?"), berlin(2026, 1, 19, 12))
    assert due_at(CAL, ticket.opened_at, 180, ticket.pauses) is None
    ticket, _ = apply(ticket, CustomerReply("6.1"), berlin(2026, 1, 20, 12))
    assert due_at(CAL, ticket.opened_at, 180, ticket.pauses) == berlin(2026, 1, 20, 13)


# -- random command sequences ------------------------------------------------------------------

agent_message: st.SearchStrategy[Command] = st.one_of(
    st.builds(AgentRespond, st.text(max_size=3)),
    st.builds(AgentRequestInfo, st.text(max_size=3)),
)
# Weighted (sampled_from with repeats) so long pending spells, closes, reopens and surveys
# all happen often in 60 examples.
_WEIGHTED: list[st.SearchStrategy[Command]] = [
    *[agent_message] * 4,
    *[st.builds(CustomerReply, st.text(max_size=3))] * 2,
    st.just(Solve()),
    st.just(CustomerClose()),
    st.just(Close()),
    st.just(AutoClose()),
    *[st.just(Reopen())] * 2,
    st.builds(AnswerSurvey, st.integers(0, 6), st.text(max_size=3)),
]
commands: st.SearchStrategy[Command] = st.sampled_from(_WEIGHTED).flatmap(lambda s: s)
gaps = st.one_of(
    st.integers(min_value=-60, max_value=120),  # minutes, sometimes backwards (clock skew)
    st.integers(min_value=1, max_value=6).map(lambda days: days * 24 * 60),
)
Steps = list[tuple[Command, int]]


def _bumps_then_auto_close(bumps: list[tuple[Command, int]]) -> Steps:
    return [*bumps, (AutoClose(), 2 * 1440)]


single: st.SearchStrategy[Steps] = st.tuples(commands, gaps).map(lambda step: [step])
# "Bump, bump, close": three attempts a few days apart, then the scheduler's auto-close.
bump_bump_close = st.lists(
    st.tuples(agent_message, st.integers(min_value=1, max_value=6).map(lambda d: d * 1440)),
    min_size=3,
    max_size=4,
).map(_bumps_then_auto_close)
_MOVES: list[st.SearchStrategy[Steps]] = [*[single] * 6, bump_bump_close]
moves: st.SearchStrategy[Steps] = st.sampled_from(_MOVES).flatmap(lambda s: s)
steps = st.lists(moves, min_size=3, max_size=25).map(
    lambda chosen: [step for move in chosen for step in move]
)


def check_invariants(ticket: Ticket) -> None:
    assert ticket.contact_attempts >= 0
    assert ticket.reopen_count >= 0
    if ticket.status == "pending":
        assert ticket.contact_attempts >= 1
        assert ticket.first_attempt_at is not None
        assert ticket.last_attempt_at is not None
        assert ticket.first_attempt_at <= ticket.last_attempt_at <= ticket.updated_at
    if ticket.status in ("new", "open", "solved"):
        assert ticket.contact_attempts == 0
        assert ticket.first_attempt_at is None
    if ticket.status == "new":
        assert ticket.first_response_at is None
    assert (ticket.status == "closed") == (ticket.closed_at is not None)
    assert (ticket.status == "closed") == (ticket.close_reason is not None)
    if ticket.status == "solved":
        assert ticket.solved_at is not None
    if ticket.status in ("new", "open", "pending"):
        assert ticket.solved_at is None
    # Pauses: ordered, non-overlapping, only the last may be open, and only while pending.
    open_pauses = [p for p in ticket.pauses if p.end is None]
    assert len(open_pauses) == (1 if ticket.status == "pending" else 0)
    if open_pauses:
        assert ticket.pauses[-1].end is None
    previous_end = ticket.opened_at
    for pause in ticket.pauses:
        assert previous_end <= pause.start
        if pause.end is not None:
            assert pause.start <= pause.end
            previous_end = pause.end
    assert ticket.opened_at <= ticket.updated_at
    if ticket.survey is not None:
        assert ticket.survey.answered_at <= ticket.updated_at
        assert 1 <= ticket.survey.rating <= 5


@settings(fast, max_examples=max(200, fast.max_examples))
@given(sequence=steps)
def test_no_command_sequence_reaches_an_illegal_state(
    sequence: list[tuple[Command, int]],
) -> None:
    ticket, _ = open_ticket("t-1", T0)
    at = T0
    for command, minutes in sequence:
        at += timedelta(minutes=minutes)  # sometimes slightly backwards: clock skew
        before = ticket
        try:
            ticket, events = apply(ticket, command, at)
        except TransitionError as error:
            assert error.code.isupper()
            continue
        check_invariants(ticket)
        assert ticket.updated_at >= before.updated_at
        assert all(e.at == ticket.updated_at for e in events)
        assert events, f"{command} changed the ticket without an event"
        # The first response, once given, never changes.
        if before.first_response_at is not None:
            assert ticket.first_response_at == before.first_response_at
        # Closed tickets leave only through reopen; answering the survey keeps them closed.
        if before.status == "closed":
            assert isinstance(command, Reopen | AnswerSurvey)
            assert ticket.status == ("open" if isinstance(command, Reopen) else "closed")
        # The survey is answered once and then never changes.
        if before.survey is not None:
            assert ticket.survey == before.survey
        if ticket.survey is not None and before.survey is None:
            assert isinstance(command, AnswerSurvey)
        # Auto-close only after three attempts over ten days.
        if isinstance(command, AutoClose):
            assert before.first_attempt_at is not None
            assert before.contact_attempts >= 3
            assert ticket.updated_at - before.first_attempt_at >= timedelta(days=10)
        # Reopen count grows exactly with Reopened events.
        reopened = sum(isinstance(e, Reopened) for e in events)
        assert ticket.reopen_count == before.reopen_count + reopened


pending_moves = st.lists(
    st.tuples(
        st.sampled_from(["agent", "agent", "agent", "customer", "auto_close", "auto_close"]),
        st.integers(min_value=0, max_value=5 * 24 * 60),
    ),
    max_size=30,
)


@fast
@given(moves=pending_moves)
def test_auto_close_matches_a_model(moves: list[tuple[str, int]]) -> None:
    """Model: closes iff >= 3 agent messages since the last reply and >= 10 days since the
    first of them."""
    ticket = in_state("open")
    at = ticket.updated_at
    attempts, first_attempt = 0, None
    for move, minutes in moves:
        at += timedelta(minutes=minutes)
        if move == "agent":
            ticket, _ = apply(ticket, AgentRespond() if attempts else AgentRequestInfo(), at)
            attempts += 1
            first_attempt = first_attempt or at
        elif move == "customer":
            ticket, _ = apply(ticket, CustomerReply(), at)
            attempts, first_attempt = 0, None
        else:
            due = (
                attempts >= 3
                and first_attempt is not None
                and at - first_attempt >= timedelta(days=10)
            )
            if due:
                ticket, events = apply(ticket, AutoClose(), at)
                assert events == [Closed("t-1", at, "no_reply")]
                return
            with pytest.raises(TransitionError) as caught:
                apply(ticket, AutoClose(), at)
            expected = "AUTO_CLOSE_NOT_DUE" if attempts else "NOT_PENDING"
            assert caught.value.code == expected
        assert ticket.contact_attempts == attempts


def test_apply_does_not_mutate_the_input() -> None:
    ticket = in_state("pending")
    snapshot = replace(ticket)
    apply(ticket, CustomerReply(), T0 + DAY)
    assert ticket == snapshot
