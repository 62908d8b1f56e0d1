"""Valid example payloads of any event type, built from the models' own fields and examples:
for documentation, tests and template previews."""

from __future__ import annotations

import types
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

WHEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
_UNSET = object()


def _examples(metadata: list[Any]) -> list[Any] | None:
    for item in metadata:
        if isinstance(item, FieldInfo) and item.examples:
            return list(item.examples)
    return None


def _value(tp: Any, examples: list[Any] | None, fill_optional: bool) -> Any:
    """A valid value of type `tp` (JSON-able or a model instance)."""
    if examples:
        return examples[0]
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *metadata = get_args(tp)
        return _value(inner, _examples(metadata), fill_optional)
    if origin is Literal:
        return get_args(tp)[0]
    if origin in (Union, types.UnionType):
        arms = [a for a in get_args(tp) if a is not type(None)]
        return _value(arms[0], None, fill_optional)
    if origin is list:
        (item,) = get_args(tp)
        return [_value(item, None, fill_optional)]
    if isinstance(tp, type):
        if issubclass(tp, BaseModel):
            return example(tp, fill_optional=fill_optional)
        if tp is AwareDatetime or issubclass(tp, datetime):
            return WHEN
        if issubclass(tp, bool):  # before int: bool is an int
            return False
        if issubclass(tp, int):
            return 1
        if issubclass(tp, Decimal):
            return Decimal("1.00")
        if issubclass(tp, str):
            return "x"
    raise NotImplementedError(f"no builder for {tp!r}")


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)


def example(model: type[BaseModel], *, fill_optional: bool = False) -> Any:
    """A minimal valid instance of `model`, walking its fields generically.

    Optional fields that are not required are None, unless `fill_optional`, which gives
    every field a value so that nested and optional data take part in a round trip too.
    """
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required() and _is_optional(info.annotation) and not fill_optional:
            values[name] = None
            continue
        values[name] = _value(info.annotation, info.examples, fill_optional)
    return model.model_validate(values)
