"""Events of the portal (topic `portal.sign-ins`, keyed by the email address's digest)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from .common import Email
from .envelope import EventData
from .topics import PORTAL_SIGN_INS


class SignInRequested(EventData):
    """Someone asked for a sign-in link for a known address: notification emails it. The
    link itself is sealed for notification alone, so a reader of this topic cannot sign in."""

    event_type: ClassVar[str] = "entitle.portal.sign-in.requested.v1"
    topic: ClassVar[str] = PORTAL_SIGN_INS

    email: Email
    area: Literal["portal", "desk"] = Field(
        default="portal", description="Where the link signs in: the customer portal or the desk."
    )
    requested_at: AwareDatetime
    expires_at: AwareDatetime
    sealed_link: str = Field(
        description="The single-use sign-in link, encrypted (AES-256-GCM, the address as"
        " associated data) with the key the portal shares with notification.",
        min_length=1,
        max_length=2000,
    )
