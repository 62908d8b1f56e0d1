"""Value types shared by several payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

# Money travels as a decimal string ("199.00") next to a `currency` field (DESIGN §6).
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json"),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
AccountId = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:@-]+$")]
PaymentMode = Literal["monthly", "annual"]
# A deliberately plain check: the package depends on pydantic alone (no email-validator).
Email = Annotated[
    str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["it@acme.example"])
]
CoverageSource = Literal[
    "complimentary", "included", "purchase", "renewal", "association", "upgrade"
]
LicenseKind = Literal["perpetual", "subscription", "msp", "trial", "nfr"]


class Party(BaseModel):
    """A company that buys or uses licenses."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    account_id: AccountId
    company: Annotated[str, Field(min_length=1, max_length=200)]
    email: Email
    reseller: bool = False


class CoveragePeriod(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    source: CoverageSource
