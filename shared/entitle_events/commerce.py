"""Events of the shop's orders (topic `commerce.orders`, published by ingress)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .common import Currency, Line, Money, Party, PaymentMode
from .envelope import EventData
from .topics import COMMERCE_ORDERS

OrderId = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:/-]+$")]


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_id: Annotated[Line, Field(min_length=1, max_length=60)]
    sku: Annotated[Line, Field(min_length=1, max_length=120)]
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    unit_price: Money
    license_key: Annotated[Line, Field(min_length=1, max_length=1000)] | None = Field(
        default=None, description="The license a renewal, maintenance pack or upgrade applies to."
    )
    major_version: Annotated[int, Field(ge=0, le=10_000)] | None = Field(
        default=None,
        description="The major version a license line licenses, or an upgrade line upgrades"
        " to; null: the product's current major.",
    )


class Order(BaseModel):
    """The order body a shop posts to `POST /webhooks/orders`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: OrderId
    placed_at: AwareDatetime
    currency: Currency
    payment_mode: PaymentMode
    buyer: Party
    end_customer: Party | None = Field(
        default=None, description="The company a reseller buys for; null for a pool purchase."
    )
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _line_ids_unique(self) -> Order:
        ids = [line.line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("lines: every line_id must be unique within the order")
        return self


class OrderPlaced(EventData, Order):
    # Consumers ignore fields they do not know, so that adding one stays compatible.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str] = "entitle.commerce.order.placed.v1"
    topic: ClassVar[str] = COMMERCE_ORDERS


class OrderRefunded(EventData):
    event_type: ClassVar[str] = "entitle.commerce.order.refunded.v1"
    topic: ClassVar[str] = COMMERCE_ORDERS

    order_id: OrderId
    refunded_at: AwareDatetime
    line_ids: list[str] | None = Field(default=None, description="Null refunds the whole order.")
    reason: Line = ""
