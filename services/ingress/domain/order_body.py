"""The webhook body as an order: parsed and validated, or refused with the invalid fields."""

from __future__ import annotations

from entitle_events import Order
from pydantic import ValidationError


class InvalidOrder(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        self.detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        super().__init__(self.detail)


def parse_order(body: bytes) -> Order:
    """The order in `body`, or InvalidOrder whatever the bytes are."""
    try:
        return Order.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidOrder(
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                for e in exc.errors()
            ]
        ) from exc
