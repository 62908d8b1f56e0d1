"""The example subscriber in shared/examples works against a real broker with only the
schema package: it decodes, skips a duplicate and a foreign record, and commits."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from entitle_events import Event, encode

from tests.helpers import order_event
from tests.infra import Infra

from .kafka_tools import produce

EXAMPLE = Path(__file__).parents[2] / "shared" / "examples" / "subscriber.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("subscriber_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_subscriber_reads_entitle_events(infra: Infra) -> None:
    example = load()
    topic = f"example.{uuid.uuid4().hex[:8]}"
    first, second = order_event(), order_event()
    await produce(
        infra.bootstrap,
        topic,
        [encode(first), (b"x", b"not an event", []), encode(first), encode(second)],
    )
    handled: list[Event[Any]] = []
    count = await example.subscribe(infra.bootstrap, topic, "example-test", handled.append, 2)
    assert count == 2
    # Records of different keys sit in different partitions: no order between them.
    assert sorted(str(e.id) for e in handled) == sorted([str(first.id), str(second.id)])
    assert example.describe(handled[0]).startswith("entitle.commerce.order.placed.v1")
