"""Properties of what ingress takes from the shop: the webhook body, its Standard Webhooks
signature, and the OrderPlaced event it becomes."""

from __future__ import annotations

import json
import string
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from entitle_events import EventDecodeError, Order, OrderPlaced, decode, encode, new_event
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.ingress.domain.order_body import InvalidOrder, parse_order
from services.ingress.domain.webhook_signature import SignatureError, sign, verify
from tests.helpers import order_data
from tests.unit.ingress.test_webhook_signature import NOW, SECRET, TS

FUZZ = settings(max_examples=200, deadline=None, derandomize=True)

# --------------------------------------------------------------------------- strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
ids = st.text(alphabet=string.ascii_letters + string.digits + "._:/-", min_size=1, max_size=40)
# Text as people type it: any character but controls and lone surrogates.
lines_of_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40)
parties = st.fixed_dictionaries(
    {
        "account_id": ids.filter(lambda s: "/" not in s),
        "company": lines_of_text,
        "email": st.from_regex(r"\A[a-z0-9.]{1,10}@[a-z0-9]{1,10}\.[a-z]{2,6}\Z"),
        "reseller": st.booleans(),
    }
)
lines = st.fixed_dictionaries(
    {
        "sku": lines_of_text,
        "quantity": st.integers(1, 10_000),
        "unit_price": st.decimals(0, Decimal("999999999999.99"), places=2).map(str),
        "license_key": st.none() | lines_of_text,
    }
)
orders = st.builds(
    lambda order_id, placed_at, currency, mode, buyer, end_customer, order_lines: {
        "order_id": order_id,
        "placed_at": placed_at.isoformat(),
        "currency": currency,
        "payment_mode": mode,
        "buyer": buyer,
        "end_customer": end_customer,
        "lines": [{"line_id": str(i + 1), **line} for i, line in enumerate(order_lines)],
    },
    ids,
    st.datetimes(timezones=st.just(UTC)),
    st.from_regex(r"\A[A-Z]{3}\Z"),
    st.sampled_from(["monthly", "annual"]),
    parties,
    st.none() | parties,
    st.lists(lines, min_size=1, max_size=5),
)


def mutated(data: st.DataObject, text: str) -> str:
    """`text` with one character replaced by a different printable ASCII one."""
    index = data.draw(st.integers(0, len(text) - 1), label="index")
    replacement = data.draw(
        st.sampled_from(string.printable.strip()).filter(lambda c: c != text[index]),
        label="replacement",
    )
    return text[:index] + replacement + text[index + 1 :]


# --------------------------------------------------------------------------- the webhook body


@FUZZ
@given(body=st.binary(max_size=300))
def test_any_bytes_parse_to_an_order_or_invalid_order(body: bytes) -> None:
    try:
        assert isinstance(parse_order(body), Order)
    except InvalidOrder as exc:
        assert exc.errors and exc.detail


@FUZZ
@given(value=json_values)
def test_any_json_parses_to_an_order_or_invalid_order(value: Any) -> None:
    try:
        assert isinstance(parse_order(json.dumps(value).encode()), Order)
    except InvalidOrder as exc:
        assert all(e["field"] and e["message"] for e in exc.errors)


@FUZZ
@given(data=orders)
def test_a_valid_order_parses_to_the_same_order(data: dict[str, Any]) -> None:
    order = parse_order(json.dumps(data).encode())
    assert order == Order.model_validate(data)
    assert order.order_id == data["order_id"] and len(order.lines) == len(data["lines"])


@FUZZ
@given(data=orders, field=st.sampled_from(["order_id", "currency", "lines", "placed_at"]))
def test_an_order_missing_a_required_field_names_it(data: dict[str, Any], field: str) -> None:
    del data[field]
    with pytest.raises(InvalidOrder) as info:
        parse_order(json.dumps(data).encode())
    assert field in [e["field"] for e in info.value.errors]


TEXT_FIELDS = {
    "buyer.company": ("buyer", "company"),
    "buyer.email": ("buyer", "email"),
    "lines.0.sku": ("lines", 0, "sku"),
    "lines.0.line_id": ("lines", 0, "line_id"),
    "lines.0.license_key": ("lines", 0, "license_key"),
}


@FUZZ
@given(
    data=orders,
    field=st.sampled_from(sorted(TEXT_FIELDS)),
    control=st.characters(categories=("Cc",)) | st.characters(categories=("Cs",)),
    at=st.integers(0, 5),
)
def test_a_control_character_or_lone_surrogate_in_any_text_is_refused_naming_the_field(
    data: dict[str, Any], field: str, control: str, at: int
) -> None:
    """Nothing PostgreSQL cannot store, or that would break an email header, gets past the
    webhook: such an order is refused with the field's name, never accepted and then lost."""
    *path, last = TEXT_FIELDS[field]
    parent: Any = data
    for step in path:
        parent = parent[step]
    value = parent.get(last) or "x"
    parent[last] = value[:at] + control + value[at:]
    body = json.dumps(data).encode()  # \u escapes, as any JSON encoder writes them
    with pytest.raises(InvalidOrder) as info:
        parse_order(body)
    named = [e["field"] for e in info.value.errors]
    if unicodedata.category(control) == "Cs":  # not JSON text at all: the body is refused
        assert named == ["body"] and "Invalid JSON" in info.value.detail
    else:
        assert field in named


def test_a_broken_order_is_invalid_order_not_another_error() -> None:
    data = order_data()
    data["lines"].append(dict(data["lines"][0]))  # the same line_id twice
    with pytest.raises(InvalidOrder, match="line_id must be unique"):
        parse_order(json.dumps(data).encode())
    with pytest.raises(InvalidOrder):
        parse_order(b"\xff\xfe{")


# --------------------------------------------------------------------------- signatures

webhook_ids = st.text(string.ascii_letters + string.digits + "_-.", min_size=1, max_size=60)
skews = st.integers(-300, 300)
BASE64_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/="


@FUZZ
@given(body=st.binary(max_size=300), webhook_id=webhook_ids, skew=skews)
def test_a_signature_made_with_the_secret_verifies(body: bytes, webhook_id: str, skew: int) -> None:
    headers = _signed(webhook_id, TS + skew, body)
    assert verify([SECRET], headers, body, NOW) == webhook_id


@FUZZ
@given(body=st.binary(max_size=300), webhook_id=webhook_ids, skew=skews, data=st.data())
def test_any_one_byte_change_is_rejected(
    body: bytes, webhook_id: str, skew: int, data: st.DataObject
) -> None:
    headers = _signed(webhook_id, TS + skew, body)
    part = data.draw(st.sampled_from(["body", "webhook-id", "webhook-timestamp", "signature"]))
    if part == "body":
        if not body:
            body = b"\x00"  # an empty body changes by gaining a byte
        else:
            index = data.draw(st.integers(0, len(body) - 1))
            changed = bytearray(body)
            changed[index] ^= data.draw(st.integers(1, 255))
            body = bytes(changed)
    elif part == "signature":
        version, _, value = headers["webhook-signature"].partition(",")
        headers["webhook-signature"] = f"{version},{mutated(data, value)}"
    else:
        headers[part] = mutated(data, headers[part])
    with pytest.raises(SignatureError):
        verify([SECRET], headers, body, NOW)


# Numbers far beyond any clock, as a shop or an attacker may send them.
header_text = st.text(max_size=80) | st.integers(-(10**400), 10**400).map(str)


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "other"]),
        header_text,
    ),
    body=st.binary(max_size=100),
)
def test_garbage_headers_raise_signature_error(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(SignatureError) as info:
        verify([SECRET], headers, body, NOW)
    assert info.value.code.startswith("WEBHOOK_")


@settings(max_examples=20, deadline=None, derandomize=True)
@given(body=st.binary(max_size=100), webhook_id=webhook_ids)
def test_every_other_base64_character_anywhere_in_the_signature_is_rejected(
    body: bytes, webhook_id: str
) -> None:
    """Exhaustive over positions and the base64 alphabet: also the characters whose change
    a lenient decoder would not see (the unused low bits before the padding)."""
    headers = _signed(webhook_id, TS, body)
    value = headers["webhook-signature"].removeprefix("v1,")
    for index, original in enumerate(value):
        for replacement in BASE64_ALPHABET.replace(original, ""):
            headers["webhook-signature"] = f"v1,{value[:index]}{replacement}{value[index + 1 :]}"
            with pytest.raises(SignatureError):
                verify([SECRET], headers, body, NOW)


def _signed(webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(SECRET, webhook_id, timestamp, body),
    }


# --------------------------------------------------------------------------- OrderPlaced


@FUZZ
@given(data=orders)
def test_order_placed_survives_encode_then_decode(data: dict[str, Any]) -> None:
    placed = OrderPlaced.model_validate(data)
    event = new_event(placed, source="ingress", subject=placed.order_id, time=NOW)
    key, value, headers = encode(event)
    decoded = decode(headers, value)
    assert key == placed.order_id.encode()
    assert decoded == event
    assert decoded.data == placed


@FUZZ
@given(value=json_values | orders)
def test_any_json_is_an_order_placed_or_refused(value: Any) -> None:
    try:
        placed = OrderPlaced.model_validate(value)
    except ValidationError:
        return
    _, encoded, headers = encode(
        new_event(placed, source="ingress", subject=placed.order_id, time=NOW)
    )
    assert decode(headers, encoded).data == placed


@FUZZ
@given(value=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_record_value_decodes_or_raises_event_decode_error(value: bytes) -> None:
    headers = [("ce_type", OrderPlaced.event_type.encode()), ("ce_source", b"ingress")]
    headers += [("ce_id", b"6f1c9b1e-6e0e-4d1c-9a57-3c2b1f0e9d11"), ("ce_subject", b"O-1")]
    headers += [("ce_time", datetime(2026, 11, 21, tzinfo=UTC).isoformat().encode())]
    try:
        event = decode(headers, value)
    except EventDecodeError:
        return
    assert isinstance(event.data, OrderPlaced)
