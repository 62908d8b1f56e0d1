"""A license's statuses, the commands that move it between them, and which kinds of license
each rule is about. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    detail: str


ACTIVE = "active"
SUSPENDED = "suspended"
EXPIRED = "expired"
REVOKED = "revoked"
DEACTIVATED = "deactivated"

ENDED = frozenset({REVOKED, DEACTIVATED})
"""Statuses a license never leaves for use again: it gets no offline license file."""
UNUSABLE = ENDED | {SUSPENDED}
"""Statuses in which no machine may be activated."""
RENEWABLE = frozenset({ACTIVE, EXPIRED})

SUBSCRIPTION_KINDS = frozenset({"subscription", "msp"})
"""Kinds billed by the term: they renew automatically, and can be deactivated."""
EXPIRING_KINDS = SUBSCRIPTION_KINDS | {"trial", "nfr"}
"""Kinds whose SKU's term is an expiry date."""


@dataclass(frozen=True, slots=True)
class Transition:
    applies_to: frozenset[str]
    status: str
    """The status it leaves the license in."""
    done: str
    """The command in a sentence: `a suspended license cannot be <done>`."""


SUSPEND = Transition(frozenset({ACTIVE}), SUSPENDED, "suspended")
REINSTATE = Transition(frozenset({SUSPENDED}), ACTIVE, "reinstated")
REVOKE = Transition(frozenset({ACTIVE, SUSPENDED, EXPIRED, DEACTIVATED}), REVOKED, "revoked")
DEACTIVATE = Transition(frozenset({ACTIVE, SUSPENDED}), DEACTIVATED, "deactivated")


def check_transition(transition: Transition, status: str, kind: str) -> Refusal | None:
    """None when a license of this status and kind may make the transition."""
    if status not in transition.applies_to:
        return Refusal("ILLEGAL_TRANSITION", f"a {status} license cannot be {transition.done}")
    if transition is DEACTIVATE and kind not in SUBSCRIPTION_KINDS:
        return Refusal("NOT_DEACTIVATABLE", "only MSP and subscription licenses are deactivated")
    return None
