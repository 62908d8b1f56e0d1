from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import pytest
from entitle_dev.stack import Stack, StackConfig

from tests.infra import Infra
from tests.otlp_receiver import OtlpReceiver


def stack_config(infra: Infra, folder: Path, **env: str) -> StackConfig:
    """A stack on the test infrastructure, with consumer groups that join quickly."""
    config = StackConfig.ephemeral(folder)
    config.database_url = infra.database_url
    config.kafka_bootstrap = infra.bootstrap
    config.kafka_idempotence = infra.idempotence
    config.extra_env = {
        "ENTITLE_KAFKA_SESSION_TIMEOUT_MS": "4000",
        "ENTITLE_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        **env,
    }
    return config


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    """Where the services export their spans (OTLP over HTTP), as to a collector."""
    receiver = OtlpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@contextmanager
def running_stack(config: StackConfig) -> Iterator[Stack]:
    """The stack `config` describes, every service ready; stopped on leaving, whatever
    happened inside."""
    stack = Stack(config)
    stack.start_infrastructure()
    try:
        stack.start_services()
        stack.wait_ready(timeout=120)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver
) -> Iterator[Stack]:
    """The five services as separate processes on the test infrastructure, with a real SMTP
    server (aiosmtpd) capturing mail."""
    config = stack_config(
        infra,
        tmp_path_factory.mktemp("stack"),
        ENTITLE_RETRY_BACKOFF_MAX="2",
        ENTITLE_LOG_LEVEL="INFO",
        ENTITLE_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    with running_stack(config) as running:
        yield running


def mails(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def mails_for(folder: Path, order_id: str) -> list[EmailMessage]:
    return [m for m in mails(folder) if m["X-Entitle-Correlation"] == order_id]


def webhook(stack: Stack) -> str:
    return f"{stack.url('ingress')}/webhooks/orders"
