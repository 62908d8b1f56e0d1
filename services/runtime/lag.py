"""Consumer lag as the broker sees it: per partition, the log-end offset minus the group's
committed offset. Measured from Kafka, not from the consumer's own fetches, so it keeps
growing while a consumer is stuck and needs no cleanup when partitions move between copies
(every copy reports the whole group: aggregate with `max`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from . import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionLag:
    partition: TopicPartition
    end: int
    committed: int | None

    @property
    def lag(self) -> int:
        return max(0, self.end - (self.committed or 0))


async def partition_lags(reader: AIOKafkaConsumer, topics: Sequence[str]) -> list[PartitionLag]:
    """Log-end and committed offsets of `reader`'s group per partition (a consumer with the
    group id that never subscribes reads the commits without joining the group)."""
    await reader.topics()  # refresh the cluster's metadata
    tps = [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(reader.partitions_for_topic(topic) or ())
    ]
    if not tps:
        return []
    ends = await reader.end_offsets(tps)
    return [PartitionLag(tp, ends[tp], await reader.committed(tp)) for tp in tps]


async def group_lag(reader: AIOKafkaConsumer, topics: Sequence[str]) -> dict[TopicPartition, int]:
    """Records behind the committed offsets of `reader`'s group, per partition."""
    return {p.partition: p.lag for p in await partition_lags(reader, topics)}


class LagReporter:
    """Sets `entitle_consumer_lag{group, topic, partition}` from the broker at an interval."""

    def __init__(
        self, connection: dict[str, Any], group: str, topics: Sequence[str], interval: float = 5
    ) -> None:
        self._connection = connection
        self._group = group
        self._topics = list(topics)
        self._interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        reader = AIOKafkaConsumer(
            **self._connection, group_id=self._group, enable_auto_commit=False
        )
        await reader.start()
        try:
            while not stop.is_set():
                try:
                    for tp, behind in (await group_lag(reader, self._topics)).items():
                        metrics.CONSUMER_LAG.labels(self._group, tp.topic, str(tp.partition)).set(
                            behind
                        )
                except Exception as exc:  # the broker may be away for a while: report later
                    log.warning("consumer lag not measured: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._interval)
        finally:
            await reader.stop()
