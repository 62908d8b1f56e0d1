"""Prometheus metrics of ticketing's SLA, served with the runtime's at /metrics.

Counters move only after the transaction that recorded the fact commits, so a rolled-back
check counts nothing. SLA attainment per tier is met / (met + breached) of
`entitle_ticket_sla_cycles_total`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SLA_WARNINGS = Counter(
    "entitle_ticket_sla_warnings_total",
    "ticket.sla-warning events, by tier and target (once per target and cycle).",
    ["tier", "target"],
)
SLA_BREACHES = Counter(
    "entitle_ticket_sla_breaches_total",
    "ticket.sla-breached events, by tier and target (once per target and cycle).",
    ["tier", "target"],
)
SLA_CYCLES = Counter(
    "entitle_ticket_sla_cycles_total",
    "SLA cycles that ended (answered, solved or closed), by tier, target and outcome: met, or"
    " breached (the due time passed first).",
    ["tier", "target", "outcome"],
)
OPEN_TICKETS = Gauge(
    "entitle_tickets_open",
    "Tickets not closed, by tier and SLA state (on_track, at_risk, breached, paused, none);"
    " every copy of the service reports the whole database: aggregate with max.",
    ["tier", "sla_state"],
)
