"""The runtime against Apache Kafka (KRaft) and PostgreSQL in containers, where a Docker
engine answers; skipped where none does."""

from __future__ import annotations

import pytest

from services.runtime.service import Runtime
from services.runtime.settings import RuntimeSettings
from tests.conftest import settings_for
from tests.helpers import eventually, order_event
from tests.infra import containers, docker_available

from .kafka_tools import produce_events
from .probe_service import probe_definition

pytestmark = pytest.mark.containers


async def test_runtime_round_trip_on_apache_kafka_and_postgres() -> None:
    if not docker_available():
        pytest.skip("no Docker engine answers: testcontainers cannot start containers")
    with containers() as infra:
        runtime = Runtime(probe_definition(settings_for(infra, RuntimeSettings)))
        await runtime.start()
        try:
            events = [order_event() for _ in range(20)]
            topic = runtime.settings.kafka_topic_prefix + "commerce.orders"
            await produce_events(infra.bootstrap, topic, events + events[:5])

            async def applied() -> bool:
                return await runtime.pool.fetchval("select count(*) from effects") == 20

            await eventually(applied, timeout=120)
        finally:
            await runtime.stop()
