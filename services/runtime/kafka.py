"""Kafka plumbing: producer settings and topic creation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from .settings import RuntimeSettings

log = logging.getLogger(__name__)


def connection(settings: RuntimeSettings) -> dict[str, Any]:
    """aiokafka's keyword arguments to reach the cluster: bootstrap servers, TLS and SASL.
    Every client (services, ops commands) is built with them."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        password = settings.kafka_ssl_key_password
        options["ssl_context"] = create_ssl_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
            certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
            keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            password=password.get_secret_value() if password else None,
        )
    if settings.kafka_security_protocol.startswith("SASL_"):
        assert settings.kafka_sasl_password is not None  # the settings validate it
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def create_producer(settings: RuntimeSettings) -> AIOKafkaProducer:
    # acks=all always; idempotence only where the broker supports it (Tansu refuses
    # InitProducerId, Apache Kafka wants it on).
    return AIOKafkaProducer(
        **connection(settings),
        client_id=f"entitle-{settings.service}",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
    )


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication: int = 1,
    connection: dict[str, Any] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the ones created. `connection` (from
    `connection()`) carries TLS and SASL, and then names the bootstrap servers too."""
    admin = AIOKafkaAdminClient(
        **(connection or {"bootstrap_servers": bootstrap}), client_id="entitle-admin"
    )
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
