"""Value types shared by several payloads."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic_core import PydanticCustomError

# Control characters (C0, DEL and C1), and lone surrogates (not text at all). PostgreSQL cannot
# store NUL, and a control character in a name, subject or address breaks the email header,
# the log line or the terminal it ends up in: refused at every input.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _refusing(pattern: re.Pattern[str], allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters{allowed} (found {found})",
                {"allowed": allowed, "found": f"U+{ord(found.group()):04X}"},
            )
        return value

    return check


Line = Annotated[
    str,
    AfterValidator(_refusing(_CONTROL, "")),
    Field(json_schema_extra={"pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"}),
]
"""One line of text: no control characters at all."""
Text = Annotated[
    str,
    AfterValidator(_refusing(_CONTROL_BUT_LINES, " other than tab and line breaks")),
    Field(json_schema_extra={"pattern": "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"}),
]
"""Text that may span lines (a ticket's body): tab, LF and CR, no other control characters."""

# Money travels as a decimal string ("199.00") next to a `currency` field.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json"),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
AccountId = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:@-]+$")]
PaymentMode = Literal["monthly", "annual"]
# A deliberately plain check: the package depends on pydantic alone (no email-validator).
# Non-ASCII addresses are allowed (RFC 6531: sent with SMTPUTF8); control characters are not.
_NOT_IN_ADDRESS = r"[^@\s\x00-\x1f\x7f-\x9f]+"
EMAIL_PATTERN = rf"^{_NOT_IN_ADDRESS}@{_NOT_IN_ADDRESS}\.{_NOT_IN_ADDRESS}$"
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN, examples=["it@acme.example"])]
CoverageSource = Literal[
    "complimentary", "included", "purchase", "renewal", "association", "upgrade"
]
LicenseKind = Literal["perpetual", "subscription", "msp", "trial", "nfr"]


class Party(BaseModel):
    """A company that buys or uses licenses."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    account_id: AccountId
    company: Annotated[Line, Field(min_length=1, max_length=200)]
    email: Email
    reseller: bool = False


class CoveragePeriod(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    source: CoverageSource
