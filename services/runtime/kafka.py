"""Kafka plumbing: producer settings and topic creation."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .settings import RuntimeSettings

log = logging.getLogger(__name__)


def create_producer(settings: RuntimeSettings) -> AIOKafkaProducer:
    # acks=all always; idempotence only where the broker supports it (Tansu refuses
    # InitProducerId, Apache Kafka wants it on).
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"entitle-{settings.service}",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
    )


async def ensure_topics(
    bootstrap: str, names: Iterable[str], partitions: int, replication: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; return the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="entitle-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = sorted(set(names) - existing)
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(n, num_partitions=partitions, replication_factor=replication)
                for n in missing
            ]
        )
        created = []
        for topic, code, *_ in getattr(response, "topic_errors", getattr(response, "topics", [])):
            if code == 0:
                created.append(topic)
            elif code != TopicAlreadyExistsError.errno:
                raise RuntimeError(f"cannot create topic {topic}: error code {code}")
        log.info("created topics %s", created)
        return created
    finally:
        await admin.close()
