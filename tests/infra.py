"""Real infrastructure for the tests: embedded by default, testcontainers when asked and a
Docker engine answers, or external servers named by ENTITLE_DATABASE_URL and
ENTITLE_KAFKA_BOOTSTRAP."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from entitle_dev.broker import EmbeddedBroker
from entitle_dev.postgres import EmbeddedPostgres
from entitle_dev.stack import free_port


@dataclass
class Infra:
    database_url: str
    bootstrap: str
    idempotence: bool
    postgres: EmbeddedPostgres | None = None


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def embedded(root: Path) -> Iterator[Infra]:
    postgres = EmbeddedPostgres(root / "pg", free_port(), durable=False)
    broker = EmbeddedBroker(free_port(), root / "broker.log")
    postgres.start()
    broker.start()
    try:
        yield Infra(postgres.url, broker.bootstrap, idempotence=False, postgres=postgres)
    finally:
        broker.stop()
        postgres.stop()


@contextlib.contextmanager
def containers() -> Iterator[Infra]:
    from testcontainers.kafka import KafkaContainer  # type: ignore[import-untyped]
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

    with (
        PostgresContainer("postgres:17-alpine", driver=None) as pg,
        KafkaContainer("apache/kafka:3.9.1").with_kraft() as kafka,
    ):
        yield Infra(pg.get_connection_url(), kafka.get_bootstrap_server(), idempotence=True)


@contextlib.contextmanager
def chosen(root: Path) -> Iterator[Infra]:
    db, bootstrap = (
        os.environ.get("ENTITLE_DATABASE_URL"),
        os.environ.get("ENTITLE_KAFKA_BOOTSTRAP"),
    )
    if db and bootstrap:
        yield Infra(
            db, bootstrap, idempotence=os.environ.get("ENTITLE_KAFKA_IDEMPOTENCE") != "false"
        )
    elif os.environ.get("ENTITLE_TEST_INFRA") == "containers" and docker_available():
        with containers() as infra:
            yield infra
    else:
        with embedded(root) as infra:
            yield infra
