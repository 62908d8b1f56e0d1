from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra import Infra, chosen


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    with chosen(tmp_path_factory.mktemp("infra")) as found:
        yield found


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def settings_for(infra: Infra, cls: type[Any], **overrides: Any) -> Any:
    """Settings of one isolated service instance: own database, group and topics."""
    name = overrides.pop("service", None) or unique("svc")
    values: dict[str, Any] = {
        "service": name,
        "database_url": infra.database_url,
        "database_name": f"db_{name}",
        "kafka_bootstrap": infra.bootstrap,
        "kafka_idempotence": infra.idempotence,
        "kafka_topic_prefix": f"{name}.",
        "kafka_partitions": 4,
        "kafka_session_timeout_ms": 4000,
        "kafka_heartbeat_interval_ms": 500,
        "retry_backoff_initial": 0.05,
        "retry_backoff_max": 1.0,
        "http_port": 1,
    }
    values.update(overrides)
    return cls(**values)
