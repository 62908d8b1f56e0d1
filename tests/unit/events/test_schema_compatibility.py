"""The committed JSON Schemas guard the published contract; the checker guards the rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from entitle_events import schemas
from entitle_events.schemas import SCHEMA_DIR, breaking_changes

GENERATED = schemas.generate()
COMMITTED = schemas.committed()

ISSUED = "entitle.licensing.license.issued.v1"
PLACED = "entitle.commerce.order.placed.v1"


@pytest.mark.parametrize("event_type", sorted(GENERATED))
def test_generated_schema_is_committed_and_compatible(event_type: str) -> None:
    path = SCHEMA_DIR / f"{event_type}.json"
    assert event_type in COMMITTED, (
        f"{path} is missing: a new event type needs its schema committed. "
        "Run `make schemas` and commit the file."
    )
    problems = breaking_changes(COMMITTED[event_type], GENERATED[event_type])
    assert not problems, (
        f"{event_type} changed incompatibly with the committed schema {path.name}:\n  "
        + "\n  ".join(problems)
        + "\nConsumers of the published schema would reject these events. Publish a new "
        "version (….v2) instead. Run `make schemas` only for compatible changes."
    )


def test_no_committed_schema_lacks_an_event_type() -> None:
    stale = sorted(set(COMMITTED) - set(GENERATED))
    assert not stale, f"committed schemas without an event type: {stale}"


def test_every_catalog_type_has_a_schema() -> None:
    from entitle_events import DATA_BY_TYPE

    assert set(GENERATED) == set(DATA_BY_TYPE)


def test_each_schema_is_the_record_value_with_its_id_dialect_and_place() -> None:
    from entitle_events import DATA_BY_TYPE

    for event_type, schema in COMMITTED.items():
        assert schema["$id"] == f"urn:entitle:schema:{event_type}"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["title"] == DATA_BY_TYPE[event_type].__name__
        record = schema["x-entitle-record"]
        assert record["topic"] == DATA_BY_TYPE[event_type].topic
        assert record["ce_type"] == event_type
        assert record["headers"] == schemas.committed_headers()["$id"]
    assert schemas.committed_headers() == schemas.headers_schema(), "run `make schemas`"


def test_a_schema_is_compatible_with_itself() -> None:
    for event_type, schema in GENERATED.items():
        assert breaking_changes(schema, copy.deepcopy(schema)) == [], event_type


# --------------------------------------------------------------------------- the checker


def _copy(event_type: str = ISSUED) -> dict[str, Any]:
    return copy.deepcopy(GENERATED[event_type])


def _data(schema: dict[str, Any]) -> dict[str, Any]:
    """The event's data: the schema's root (a record's value is the data alone)."""
    return schema


def test_detects_required_field_removed() -> None:
    new = _copy()
    data = _data(new)
    del data["properties"]["license_key"]
    data["required"].remove("license_key")
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert any("license_key" in p for p in problems), problems


def test_detects_required_field_made_optional() -> None:
    new = _copy()
    _data(new)["required"].remove("major_version")
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert problems == ["$.major_version: no longer required"]


def test_detects_type_widened_from_integer_to_string() -> None:
    new = _copy()
    _data(new)["properties"]["major_version"] = {"type": "string", "title": "Major Version"}
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert any("major_version" in p and "string" in p for p in problems), problems


def test_detects_type_widened_to_a_union() -> None:
    new = _copy()
    _data(new)["properties"]["major_version"] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert any("major_version" in p and "string" in p for p in problems), problems


def test_detects_type_made_untyped() -> None:
    new = _copy()
    _data(new)["properties"]["major_version"] = {"title": "Major Version"}
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert any("major_version" in p and "any" in p for p in problems), problems


def test_detects_enum_gaining_a_value() -> None:
    new = _copy()
    _data(new)["properties"]["payment_mode"]["enum"].append("weekly")
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert any("payment_mode" in p and "weekly" in p for p in problems), problems


def test_detects_enum_dropped_for_free_string() -> None:
    new = _copy()
    del _data(new)["properties"]["kind"]["enum"]
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert any("kind" in p for p in problems), problems


def test_detects_field_becoming_nullable() -> None:
    new = _copy()
    old_prop = _data(new)["properties"]["license_key"]
    _data(new)["properties"]["license_key"] = {"anyOf": [old_prop, {"type": "null"}]}
    problems = breaking_changes(GENERATED[ISSUED], new)
    assert any("license_key" in p and "null" in p for p in problems), problems


def test_detects_changes_inside_nested_models_and_arrays() -> None:
    new = _copy(PLACED)
    line = new["$defs"]["OrderLine"]
    line["properties"]["quantity"] = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    line["required"].remove("sku")
    problems = breaking_changes(GENERATED[PLACED], new)
    assert any("quantity" in p and "null" in p for p in problems), problems
    assert any("sku" in p and "no longer required" in p for p in problems), problems
    assert all(p.startswith("$.lines[]") for p in problems), problems


def test_accepts_new_optional_field() -> None:
    new = _copy()
    _data(new)["properties"]["region"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    assert breaking_changes(GENERATED[ISSUED], new) == []


def test_accepts_new_required_field() -> None:
    """Old consumers ignore unknown fields, so even a new required field is safe for them."""
    new = _copy()
    _data(new)["properties"]["region"] = {"type": "string"}
    _data(new)["required"].append("region")
    assert breaking_changes(GENERATED[ISSUED], new) == []


def test_accepts_optional_field_made_required() -> None:
    new = _copy()
    _data(new)["required"].append("pooled")
    assert breaking_changes(GENERATED[ISSUED], new) == []


def test_accepts_narrowing_number_to_integer() -> None:
    old = _copy()
    _data(old)["properties"]["major_version"] = {"type": "number"}
    new = _copy()
    _data(new)["properties"]["major_version"] = {"type": "integer"}
    assert breaking_changes(old, new) == []
    # ...but not the other way round
    assert breaking_changes(new, old) != []


def test_accepts_enum_losing_a_value() -> None:
    new = _copy()
    _data(new)["properties"]["kind"]["enum"].remove("nfr")
    assert breaking_changes(GENERATED[ISSUED], new) == []


def test_accepts_enum_narrowed_to_a_single_constant() -> None:
    """Literal["a", "b"] -> Literal["a"]: pydantic then writes `const`, not `enum`."""
    new = _copy()
    _data(new)["properties"]["payment_mode"] = {"const": "annual", "type": "string"}
    assert breaking_changes(GENERATED[ISSUED], new) == []


def test_accepts_nullable_field_made_non_null() -> None:
    new = _copy()
    _data(new)["properties"]["max_activations"] = {"type": "integer"}
    assert breaking_changes(GENERATED[ISSUED], new) == []
