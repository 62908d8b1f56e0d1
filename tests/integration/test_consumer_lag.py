"""Consumer lag comes from the broker: log-end offsets minus the group's committed offsets,
per partition, whichever process committed them."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY

from services.runtime import kafka
from services.runtime.lag import LagReporter
from tests.conftest import unique
from tests.helpers import eventually, order_event
from tests.infra import Infra

from .kafka_tools import produce_events


def lag_of(group: str, topic: str) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "entitle_consumer_lag", {"group": group, "topic": topic, "partition": str(p)}
        )
        or 0
        for p in range(2)
    )


async def test_lag_follows_the_groups_commits_on_the_broker(infra: Infra) -> None:
    topic, group = unique("lag"), unique("group")
    await kafka.ensure_topics(infra.bootstrap, [topic], partitions=2)
    await produce_events(infra.bootstrap, topic, [order_event() for _ in range(7)])
    stop = asyncio.Event()
    reporter = LagReporter({"bootstrap_servers": infra.bootstrap}, group, [topic], interval=0.2)
    task = asyncio.create_task(reporter.run(stop))
    try:
        await eventually(lambda: _equals(lag_of(group, topic), 7))
        # Another member of the group commits everything: the reported lag drops to 0.
        committer = AIOKafkaConsumer(
            bootstrap_servers=infra.bootstrap, group_id=group, enable_auto_commit=False
        )
        await committer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(2)]
            committer.assign(tps)
            ends = await committer.end_offsets(tps)
            await committer.commit({tp: OffsetAndMetadata(ends[tp], "") for tp in tps})
        finally:
            await committer.stop()
        await eventually(lambda: _equals(lag_of(group, topic), 0))
    finally:
        stop.set()
        await task


async def _equals(value: float, expected: float) -> bool:
    return value == expected
