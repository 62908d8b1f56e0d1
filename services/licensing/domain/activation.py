"""Activation rules (seed 001). Pure."""

from __future__ import annotations

from .lifecycle import UNUSABLE, Refusal


def check_activation(
    *,
    status: str,
    expired: bool,
    platform: str,
    edition_platforms: list[str],
    edition: str,
    already_activated: bool,
    seats_used: int,
    max_activations: int | None,
) -> Refusal | None:
    """None when the machine may be activated; re-activating the same fingerprint is fine."""
    if status in UNUSABLE or expired:
        state = "expired" if expired else status
        return Refusal(f"LICENSE_{state.upper()}", f"the license is {state}")
    if platform not in edition_platforms:
        return Refusal(
            "PLATFORM_NOT_LICENSED",
            f"the {edition} edition does not run on {platform};"
            f" it runs on {', '.join(edition_platforms)}",
        )
    if already_activated:
        return None
    if max_activations is not None and seats_used >= max_activations:
        return Refusal(
            "TOO_MANY_ACTIVATIONS",
            f"all {max_activations} seats are used; deactivate a machine first",
        )
    return None
