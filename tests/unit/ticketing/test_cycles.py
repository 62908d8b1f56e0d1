"""SLA cycles: warnings inside business hours, re-armed update targets, one warning and one
breach per target and cycle, tier changes mid-cycle; across DST, holidays and weekends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.ticketing.domain import cycles
from services.ticketing.domain import lifecycle as lc
from services.ticketing.domain.calendar import BusinessCalendar
from services.ticketing.domain.cycles import Breach, SlaClock, Warn
from services.ticketing.domain.sla import SlaTargets, WarningRule, default_sla_policy

from .support import CAL, FALL_BACK, SPRING_FORWARD, berlin, fast, instants, utc

POLICY = default_sla_policy(CAL)
PRIORITY = POLICY["priority"]  # 780 / 780 / 3900, warning at a quarter left
INCIDENT = POLICY["per_incident"]  # 180 / 780 / 2340
MINUTE = timedelta(minutes=1)
SPLIT_DAY = BusinessCalendar(
    "Europe/Berlin",
    dict.fromkeys(range(5), ("08:00-12:00", "13:00-17:00")),
    country="DE",
    subdivision="BY",
)
CALENDARS = st.sampled_from([CAL, SPLIT_DAY])


def opened(at: datetime, targets: SlaTargets = PRIORITY) -> tuple[lc.Ticket, SlaClock]:
    ticket, events = lc.open_ticket("t", at)
    clock, _ = cycles.on_events(SlaClock(), events, ticket, targets, CAL)
    return ticket, clock


def step(
    ticket: lc.Ticket,
    clock: SlaClock,
    command: lc.Command,
    at: datetime,
    targets: SlaTargets = PRIORITY,
    calendar: BusinessCalendar = CAL,
) -> tuple[lc.Ticket, SlaClock, list[cycles.Ended]]:
    ticket, events = lc.apply(ticket, command, at)
    clock, ended = cycles.on_events(clock, events, ticket, targets, calendar)
    return ticket, clock, ended


# -- examples --------------------------------------------------------------------------------


def test_opening_starts_first_response_and_resolution() -> None:
    ticket, clock = opened(berlin(2026, 11, 18, 11))
    assert {(c.target, c.number) for c in clock.running} == {
        ("first_response", 1),
        ("resolution", 1),
    }
    first = clock.cycle("first_response")
    assert first is not None
    assert cycles.cycle_due(CAL, first, ticket.pauses) == utc(berlin(2026, 11, 19, 11))
    # A quarter of 13 h left: 3 h 15 min of business time before the due time.
    assert cycles.warn_at(CAL, first, ticket.pauses) == utc(berlin(2026, 11, 18, 20, 45))


def test_a_warning_that_falls_before_opening_waits_for_the_opening() -> None:
    # Per-incident 3 h, warned 45 min before: opened Monday 08:00 (before opening) is due
    # 12:00, warned 11:15. Opened Friday 21:30 it is due Monday 11:30, warned 10:45.
    ticket, clock = opened(berlin(2026, 11, 20, 21, 30), INCIDENT)
    first = clock.cycle("first_response")
    assert first is not None
    assert cycles.cycle_due(CAL, first, ticket.pauses) == utc(berlin(2026, 11, 23, 11, 30))
    assert cycles.warn_at(CAL, first, ticket.pauses) == utc(berlin(2026, 11, 23, 10, 45))
    # A lead as long as the target: the warning goes at the first business instant.
    everything = replace(INCIDENT, warning=WarningRule(before=180))
    ticket, clock = opened(berlin(2026, 11, 21, 10), everything)
    first = clock.cycle("first_response")
    assert first is not None
    assert cycles.warn_at(CAL, first, ticket.pauses) == utc(berlin(2026, 11, 23, 9))


def test_a_warning_found_at_night_waits_and_an_overdue_cycle_only_breaches() -> None:
    ticket, clock = opened(berlin(2026, 11, 18, 20), INCIDENT)  # due Thu 10:00, warn 09:15
    # The scheduler was down until Thursday night: the breach goes, the warning never.
    late, actions = cycles.check(clock, CAL, ticket.pauses, berlin(2026, 11, 19, 23))
    assert [type(a) for a in actions] == [Breach]
    assert cycles.check(late, CAL, ticket.pauses, berlin(2026, 11, 20, 10))[1] == []

    # Opened Wed 19:30: due Thu 09:30, the warning instant Wed 21:45. Found at 23:00 (the
    # scheduler was late), it waits for Thursday's opening.
    ticket, clock = opened(berlin(2026, 11, 18, 19, 30), INCIDENT)
    first = clock.cycle("first_response")
    assert first is not None
    assert cycles.warn_at(CAL, first, ticket.pauses) == utc(berlin(2026, 11, 18, 21, 45))
    night = berlin(2026, 11, 18, 23)
    clock_n, actions = cycles.check(clock, CAL, ticket.pauses, night)
    assert actions == []
    first = clock_n.cycle("first_response")
    assert first is not None
    assert cycles.next_check(CAL, first, ticket.pauses, night) == utc(berlin(2026, 11, 19, 9))
    clock_w, actions = cycles.check(clock_n, CAL, ticket.pauses, berlin(2026, 11, 19, 9, 10))
    assert [type(a) for a in actions] == [Warn]
    (warn,) = actions
    assert isinstance(warn, Warn)
    assert warn.left == timedelta(minutes=20)
    assert cycles.check(clock_w, CAL, ticket.pauses, berlin(2026, 11, 19, 9, 20))[1] == []


def test_every_customer_reply_after_an_answer_re_arms_the_update_target() -> None:
    at = berlin(2026, 11, 16, 10)
    ticket, clock = opened(at)
    ticket, clock, ended = step(ticket, clock, lc.AgentRespond("hi"), at + timedelta(hours=1))
    assert [(e.cycle.target, e.outcome) for e in ended] == [("first_response", "met")]
    dues, expected = [], []
    reply_at = at
    for n in range(1, 4):
        reply_at += timedelta(days=3)
        ticket, clock, _ = step(ticket, clock, lc.CustomerReply("more"), reply_at)
        # A second reply while waiting does not restart the wait.
        ticket, clock, _ = step(ticket, clock, lc.CustomerReply("and"), reply_at + MINUTE)
        update = clock.cycle("update")
        assert update is not None
        assert update.number == n
        assert update.started == utc(reply_at)
        dues.append(cycles.cycle_due(CAL, update, ticket.pauses))
        expected.append(utc(CAL.add_business_minutes(reply_at, 780)))
        later = reply_at + timedelta(days=2)
        clock, actions = cycles.check(clock, CAL, ticket.pauses, later)
        updates = [a for a in actions if a.cycle.target == "update"]
        assert [(type(a), a.cycle.number) for a in updates] == [(Breach, n)]
        ticket, clock, ended = step(ticket, clock, lc.AgentRespond("answer"), later)
        assert [(e.cycle.target, e.cycle.number, e.outcome) for e in ended] == [
            ("update", n, "breached")
        ]
        assert not ended[0].breach_now  # the check recorded it
    assert dues == expected


def test_pending_pauses_resolution_and_ends_the_update_cycle() -> None:
    at = berlin(2026, 11, 16, 10)
    ticket, clock = opened(at)
    ticket, clock, _ = step(ticket, clock, lc.AgentRequestInfo("log?"), at + timedelta(hours=1))
    assert [c.target for c in clock.running] == ["resolution"]
    resolution = clock.cycle("resolution")
    assert resolution is not None
    assert cycles.cycle_due(CAL, resolution, ticket.pauses) is None  # paused
    ticket, clock, _ = step(ticket, clock, lc.CustomerReply("log"), at + timedelta(days=7))
    resolution = clock.cycle("resolution")
    assert resolution is not None
    # 1 h ran before the pause: 64 h of the 65 h target are left from the reply.
    due = cycles.cycle_due(CAL, resolution, ticket.pauses)
    assert due == utc(CAL.add_business_minutes(at + timedelta(days=7), 3900 - 60))


def test_a_cycle_that_ends_overdue_before_any_check_is_breached_at_its_end() -> None:
    at = berlin(2026, 11, 16, 10)
    ticket, clock = opened(at)
    _, _, ended = step(ticket, clock, lc.AgentRespond("late"), at + timedelta(days=2))
    (first,) = ended
    assert (first.outcome, first.breach_now) == ("breached", True)


def test_reopen_starts_new_cycles() -> None:
    at = berlin(2026, 11, 16, 10)
    ticket, clock = opened(at)
    ticket, clock, _ = step(ticket, clock, lc.AgentRespond("done?"), at + MINUTE)
    ticket, clock, ended = step(ticket, clock, lc.Solve(), at + 2 * MINUTE)
    assert [(e.cycle.target, e.outcome) for e in ended] == [("resolution", "met")]
    assert clock.running == ()
    ticket, clock, _ = step(ticket, clock, lc.Reopen(), at + timedelta(days=1))
    assert {(c.target, c.number) for c in clock.running} == {("update", 1), ("resolution", 2)}


def test_an_upgrade_brings_the_due_time_forward_and_a_downgrade_never_delays_it() -> None:
    at = berlin(2026, 11, 16, 10)
    basic = POLICY["basic"]
    ticket, clock = opened(at, basic)
    resolution = clock.cycle("resolution")
    assert resolution is not None
    basic_due = cycles.cycle_due(CAL, resolution, ticket.pauses)
    assert basic_due == utc(CAL.add_business_minutes(at, 10 * 780))
    change = at + timedelta(hours=2)
    upgraded = cycles.retarget(clock, ticket, PRIORITY, change)
    resolution = upgraded.cycle("resolution")
    assert resolution is not None
    assert cycles.cycle_due(CAL, resolution, ticket.pauses) == utc(
        CAL.add_business_minutes(change, 5 * 780)
    )
    # First response: basic and priority both promise a business day; the old one stays.
    first = upgraded.cycle("first_response")
    assert first is not None
    assert cycles.cycle_due(CAL, first, ticket.pauses) == utc(CAL.add_business_minutes(at, 780))
    # Back to basic: nothing moves back.
    downgraded = cycles.retarget(upgraded, ticket, basic, change + timedelta(hours=1))
    resolution = downgraded.cycle("resolution")
    assert resolution is not None
    assert cycles.cycle_due(CAL, resolution, ticket.pauses) == utc(
        CAL.add_business_minutes(change, 5 * 780)
    )


def test_a_tier_without_a_target_gains_one_from_the_change() -> None:
    at = berlin(2026, 11, 16, 10)
    no_resolution = replace(PRIORITY, resolution=None)
    ticket, clock = opened(at, no_resolution)
    assert clock.cycle("resolution") is None
    later = cycles.retarget(clock, ticket, PRIORITY, at + timedelta(hours=3))
    resolution = later.cycle("resolution")
    assert resolution is not None
    assert resolution.started == utc(at + timedelta(hours=3))


# -- properties ------------------------------------------------------------------------------

leads = st.one_of(
    st.builds(WarningRule, before=st.integers(1, 900), share=st.none()),
    st.builds(WarningRule, before=st.none(), share=st.floats(0.05, 0.95)),
)
target_minutes = st.integers(min_value=1, max_value=4000)


@fast
@given(start=instants(), minutes=target_minutes, rule=leads, calendar=CALENDARS)
def test_the_warning_instant_is_in_business_hours_with_the_lead_left(
    start: datetime, minutes: int, rule: WarningRule, calendar: BusinessCalendar
) -> None:
    targets = SlaTargets(first_response=minutes, warning=rule)
    ticket, events = lc.open_ticket("t", start)
    clock, _ = cycles.on_events(SlaClock(), events, ticket, targets, calendar)
    first = clock.cycle("first_response")
    assert first is not None
    due = cycles.cycle_due(calendar, first, ())
    warn = cycles.warn_at(calendar, first, ())
    assert due is not None and warn is not None
    assert calendar.is_open(warn)
    assert warn < due
    lead = rule.lead(minutes)
    left = calendar.business_time_between(warn, due)
    assert left == timedelta(minutes=min(lead, minutes))
    assert cycles.time_left(calendar, first, (), warn) == left


def _polls(draw: st.DrawFn, start: datetime, span_days: int) -> list[datetime]:
    offsets = draw(
        st.lists(st.integers(0, span_days * 24 * 60), min_size=1, max_size=40, unique=True)
    )
    return [utc(start) + timedelta(minutes=m) for m in sorted(offsets)]


@st.composite
def poll_plans(draw: st.DrawFn) -> tuple[datetime, int, WarningRule, list[datetime]]:
    start = draw(instants())
    minutes = draw(target_minutes)
    return start, minutes, draw(leads), _polls(draw, start, 12)


@fast
@given(plan=poll_plans(), calendar=CALENDARS)
def test_a_scheduler_polling_at_any_moments_warns_and_breaches_once_at_the_right_time(
    plan: tuple[datetime, int, WarningRule, list[datetime]], calendar: BusinessCalendar
) -> None:
    start, minutes, rule, polls = plan
    targets = SlaTargets(first_response=minutes, warning=rule)
    ticket, events = lc.open_ticket("t", start)
    clock, _ = cycles.on_events(SlaClock(), events, ticket, targets, calendar)
    first = clock.cycle("first_response")
    assert first is not None
    due = cycles.cycle_due(calendar, first, ())
    warn = cycles.warn_at(calendar, first, ())
    assert due is not None and warn is not None
    seen: list[tuple[str, datetime]] = []
    for now in polls:
        clock, actions = cycles.check(clock, calendar, (), now)
        seen += [(type(a).__name__, now) for a in actions]
    kinds = [k for k, _ in seen]
    assert kinds.count("Warn") <= 1 and kinds.count("Breach") <= 1
    for kind, at in seen:
        if kind == "Warn":
            assert calendar.is_open(at) and warn <= at <= due
        else:
            assert at > due
    # The first poll that could warn does; a warning never follows the breach.
    could_warn = [p for p in polls if warn <= p <= due and calendar.is_open(p)]
    if could_warn:
        assert seen[0] == ("Warn", could_warn[0])
    else:
        assert "Warn" not in kinds
    assert ("Breach" in kinds) == any(p > due for p in polls)
    if "Warn" in kinds and "Breach" in kinds:
        assert kinds == ["Warn", "Breach"]


@st.composite
def conversations(draw: st.DrawFn) -> tuple[datetime, list[tuple[str, int]]]:
    """A ticket's life: commands at increasing minute offsets, with scheduler polls."""
    start = draw(instants())
    moves = draw(
        st.lists(
            st.tuples(
                st.sampled_from(
                    ["respond", "request", "reply", "reply", "solve", "reopen", "close", "poll"]
                ),
                st.integers(1, 3 * 24 * 60),
            ),
            min_size=1,
            max_size=25,
        )
    )
    return start, moves


COMMANDS: dict[str, lc.Command] = {
    "respond": lc.AgentRespond("a"),
    "request": lc.AgentRequestInfo("a"),
    "reply": lc.CustomerReply("c"),
    "solve": lc.Solve(),
    "reopen": lc.Reopen(),
    "close": lc.CustomerClose(),
}


@fast
@given(plan=conversations(), targets=st.sampled_from(list(POLICY.values())))
def test_any_conversation_warns_and_breaches_at_most_once_per_cycle_in_business_hours(
    plan: tuple[datetime, list[tuple[str, int]]], targets: SlaTargets
) -> None:
    start, moves = plan
    ticket, events = lc.open_ticket("t", start)
    clock, _ = cycles.on_events(SlaClock(), events, ticket, targets, CAL)
    now = utc(start)
    sent: list[tuple[str, str, int]] = []
    replies_after_answer = 0
    for name, minutes in moves:
        now += timedelta(minutes=minutes)
        if name == "poll":
            clock, actions = cycles.check(clock, CAL, ticket.pauses, now)
            for action in actions:
                sent.append((type(action).__name__, action.cycle.target, action.cycle.number))
                if isinstance(action, Warn):
                    assert CAL.is_open(now)
                    assert action.left >= timedelta(0)
                else:
                    assert now > action.due
            continue
        waiting_before = clock.awaiting_since is not None
        try:
            ticket, events = lc.apply(ticket, COMMANDS[name], now)
        except lc.TransitionError:
            continue
        clock, ended = cycles.on_events(clock, events, ticket, targets, CAL)
        for done in ended:
            if done.breach_now:
                sent.append(("Breach", done.cycle.target, done.cycle.number))
        reopened = any(isinstance(e, lc.Reopened) for e in events)
        answered = ticket.first_response_at is not None
        if name == "reply" and answered and not waiting_before and not reopened:
            replies_after_answer += 1
        # Invariants of the running cycles.
        assert len({c.target for c in clock.running}) == len(clock.running)
        if ticket.status in ("solved", "closed"):
            assert clock.running == ()
        if ticket.status == "pending":
            assert clock.cycle("update") is None and clock.cycle("first_response") is None
    assert len(sent) == len(set(sent)), sent
    # Every customer reply that followed an answer re-armed the update target once.
    reopens = sum(1 for name, _ in moves if name == "reopen")
    assert clock.numbers.get("update", 0) >= replies_after_answer
    assert clock.numbers.get("update", 0) <= replies_after_answer + reopens + sum(
        1 for name, _ in moves if name == "reply"
    )


@fast
@given(
    start=st.sampled_from(
        [
            berlin(2026, 3, 27, 21, 30),
            berlin(2026, 3, 30, 8),
            berlin(2026, 10, 23, 20),
            berlin(2026, 10, 26, 8),
            berlin(2026, 4, 2, 21),  # before Good Friday and Easter Monday
            berlin(2026, 12, 23, 21),
        ]
    ),
    gap_minutes=st.integers(1, 5 * 24 * 60),
)
def test_re_armed_update_targets_count_business_time_across_dst_and_holidays(
    start: datetime, gap_minutes: int
) -> None:
    ticket, clock = opened(start)
    ticket, clock, _ = step(ticket, clock, lc.AgentRespond("a"), start + MINUTE)
    reply = utc(start) + timedelta(minutes=gap_minutes)
    ticket, clock, _ = step(ticket, clock, lc.CustomerReply("c"), reply)
    update = clock.cycle("update")
    assert update is not None
    due = cycles.cycle_due(CAL, update, ticket.pauses)
    assert due is not None
    assert CAL.business_time_between(reply, due) == timedelta(minutes=780)
    warn = cycles.warn_at(CAL, update, ticket.pauses)
    assert warn is not None and CAL.is_open(warn)
    assert CAL.business_time_between(warn, due) == timedelta(minutes=195)
    for day in (SPRING_FORWARD, FALL_BACK):
        assert not CAL.is_open(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
