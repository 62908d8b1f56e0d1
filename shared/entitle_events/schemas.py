"""JSON Schemas of every event type, and the compatibility rule that guards them.

The committed files under `schemas/` are the published contract, and they describe what is on
the wire: `<type>.json` is the schema of a record's value (the event's data, CloudEvents
binary mode), and `kafka-headers.json` that of its headers (the envelope: `ce_type` names the
value's schema). `python -m entitle_events.schemas` rewrites them from the models;
`breaking_changes` says whether a consumer written against an old schema could fail on
events valid under a new one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .catalog import DATA_BY_TYPE
from .topics import TOPICS

SCHEMA_DIR = Path(__file__).parent / "schemas"
HEADERS_FILE = "kafka-headers.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
HEADERS_ID = "urn:entitle:schema:kafka-headers"
Schema = dict[str, Any]


def schema_id(event_type: str) -> str:
    return f"urn:entitle:schema:{event_type}"


def data_schema(event_type: str) -> Schema:
    """The schema of a record's value for this type, and where the record is found."""
    data = DATA_BY_TYPE[event_type]
    return {
        "$schema": DIALECT,
        "$id": schema_id(event_type),
        **data.model_json_schema(mode="serialization"),
        "x-entitle-record": {
            "topic": data.topic,
            "key": TOPICS[data.topic].key,
            "headers": HEADERS_ID,
            "ce_type": event_type,
        },
    }


def _text(description: str, **more: Any) -> Schema:
    return {"type": "string", "description": description, **more}


def headers_schema() -> Schema:
    """The record headers (decoded as UTF-8 text) that carry the CloudEvents attributes."""
    return {
        "$schema": DIALECT,
        "$id": HEADERS_ID,
        "title": "Entitle event record headers",
        "description": "CloudEvents 1.0 in Kafka binary mode: the attributes are headers, the"
        " data is the record's value (its schema is the one named by ce_type), the key is the"
        " subject. Header values are UTF-8 text.",
        "type": "object",
        "properties": {
            "ce_id": _text("Event id; with ce_source, unique.", format="uuid"),
            "ce_source": _text("The service that emitted the event, e.g. `licensing`."),
            "ce_type": _text(
                "Versioned event type; names the value's schema.",
                pattern=r"^entitle\.[a-z-]+\.[a-z-]+\.[a-z-]+\.v[0-9]+$",
            ),
            "ce_specversion": {"const": "1.0"},
            "ce_time": _text("When it happened (RFC 3339).", format="date-time"),
            "ce_subject": _text("Id of the aggregate; also the record's key."),
            "ce_correlationid": _text("The order or ticket that started the chain."),
            "ce_causationid": _text("Id of the event that caused this one."),
            "ce_traceparent": _text("W3C trace context of the emitting span."),
            "traceparent": _text("The same trace context, under the W3C header name."),
            "content-type": {"const": "application/json"},
        },
        "required": [
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_specversion",
            "ce_time",
            "ce_subject",
            "content-type",
        ],
    }


def generate() -> dict[str, Schema]:
    return {t: data_schema(t) for t in DATA_BY_TYPE}


def committed() -> dict[str, Schema]:
    return {
        p.stem: json.loads(p.read_text())
        for p in sorted(SCHEMA_DIR.glob("*.json"))
        if p.name != HEADERS_FILE
    }


def committed_headers() -> Schema:
    loaded: Schema = json.loads((SCHEMA_DIR / HEADERS_FILE).read_text())
    return loaded


def _dump(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in generate().items():
        path = directory / f"{event_type}.json"
        path.write_text(_dump(schema))
        written.append(path)
    (directory / HEADERS_FILE).write_text(_dump(headers_schema()))
    return [*written, directory / HEADERS_FILE]


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Ways in which data valid under `new` may be invalid for a consumer of `old`.

    Forward compatibility: old consumers must accept new events. So required fields stay
    required, a field's type may only narrow, enums may not gain values, and nothing that
    was non-null may become nullable.
    """
    problems: list[str] = []
    _compare(_Resolver(old), old, _Resolver(new), new, "$", problems)
    return problems


class _Resolver:
    def __init__(self, root: Schema) -> None:
        self.defs: dict[str, Schema] = root.get("$defs", {})

    def resolve(self, node: Schema) -> Schema:
        seen = 0
        while "$ref" in node and seen < 50:
            node = self.defs[node["$ref"].rsplit("/", 1)[-1]]
            seen += 1
        return node


def _variants(res: _Resolver, node: Schema) -> list[Schema]:
    node = res.resolve(node)
    if "anyOf" in node:
        return [v for sub in node["anyOf"] for v in _variants(res, sub)]
    if "oneOf" in node:
        return [v for sub in node["oneOf"] for v in _variants(res, sub)]
    return [node]


_JSON_KINDS: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _kinds(node: Schema) -> set[str]:
    if "const" in node:  # JSON Schema type names, so a const compares with a typed node
        return {_JSON_KINDS.get(type(node["const"]), "any")}
    kind = node.get("type")
    if kind is None:
        return {"any"}
    return set(kind) if isinstance(kind, list) else {kind}


def _compare(
    ro: _Resolver, old: Schema, rn: _Resolver, new: Schema, at: str, out: list[str]
) -> None:
    old_vs, new_vs = _variants(ro, old), _variants(rn, new)
    old_kinds = set().union(*(_kinds(v) for v in old_vs))
    if "any" in old_kinds:
        return
    if "number" in old_kinds:  # an integer is a number: narrowing number to integer is safe
        old_kinds.add("integer")
    for nv in new_vs:
        nk = _kinds(nv)
        if "any" in nk or not nk <= old_kinds:
            widened = "any" if "any" in nk else ", ".join(sorted(nk - old_kinds))
            out.append(f"{at}: now also accepts {widened}")
            continue
        for ov in old_vs:
            if not (_kinds(ov) & nk):
                continue
            _compare_node(ro, ov, rn, nv, at, out)
            break


def _compare_node(
    ro: _Resolver, old: Schema, rn: _Resolver, new: Schema, at: str, out: list[str]
) -> None:
    old_values = _allowed_values(old)
    new_values = _allowed_values(new)
    if old_values is not None and (new_values is None or not new_values <= old_values):
        extra = "any value" if new_values is None else sorted(map(str, new_values - old_values))
        out.append(f"{at}: allowed values grew by {extra}")
    if "properties" in old:
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        for name in sorted(old_required - new_required):
            out.append(f"{at}.{name}: no longer required")
        new_props = new.get("properties", {})
        for name, old_prop in old.get("properties", {}).items():
            if name in new_props:
                _compare(ro, old_prop, rn, new_props[name], f"{at}.{name}", out)
    if "items" in old and "items" in new:
        _compare(ro, old["items"], rn, new["items"], f"{at}[]", out)


def _allowed_values(node: Schema) -> set[Any] | None:
    if "const" in node:
        return {node["const"]}
    if "enum" in node:
        return set(node["enum"])
    return None


if __name__ == "__main__":
    for path in write():
        sys.stdout.write(f"wrote {path.name}\n")
