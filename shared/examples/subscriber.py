"""A subscriber an internal team can start from: it needs the `entitle-events` package and
aiokafka, nothing else of Entitle.

    python shared/examples/subscriber.py --bootstrap 127.0.0.1:9092 --topic licensing.licenses

It reads the topic in its own consumer group, decodes every event into its typed payload,
skips events it processed already (Entitle delivers at least once) and commits offsets
after handling.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from entitle_events import Event, EventDecodeError, decode
from entitle_events.licensing import LicenseIssued


def describe(event: Event[Any]) -> str:
    data = event.data
    if isinstance(data, LicenseIssued):
        return f"{data.account_id} bought {data.product} ({data.edition}): {data.license_id}"
    return f"{event.type} about {event.subject}"


async def subscribe(
    bootstrap: str,
    topic: str,
    group: str,
    handle: Callable[[Event[Any]], None],
    limit: int | None = None,
) -> int:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    seen: set[tuple[str, str]] = set()  # use a table in a real subscriber
    handled = 0
    await consumer.start()
    try:
        async for record in consumer:
            try:
                event = decode(record.headers, record.value)
            except EventDecodeError:
                await consumer.commit()  # not ours to understand: skip it
                continue
            if (event.source, str(event.id)) not in seen:
                seen.add((event.source, str(event.id)))
                handle(event)
                handled += 1
            await consumer.commit()
            if limit is not None and handled >= limit:
                break
    finally:
        await consumer.stop()
    return handled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="licensing.licenses")
    parser.add_argument("--group", default="example-subscriber")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(
        subscribe(args.bootstrap, args.topic, args.group, lambda e: print(describe(e)), args.limit)
    )


if __name__ == "__main__":
    main()
