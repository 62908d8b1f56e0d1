from __future__ import annotations

from collections.abc import Iterator

import pytest
from entitle_dev.stack import SERVICES, Stack

from tests.e2e.conftest import running_stack, stack_config
from tests.infra import Infra

from .browser import Browser, chromium_or_skip, launch

# The portal's flows publish new majors and move the clock: on a world of their own
# (databases and topics apart on the same servers) they leave the other end-to-end tests
# the one those expect.
PREFIX = "portal-e2e."


def database_of(service: str) -> str:
    return f"portal_e2e_{service}"


@pytest.fixture(scope="package")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = stack_config(
        infra,
        tmp_path_factory.mktemp("portal-stack"),
        ENTITLE_RETRY_BACKOFF_MAX="2",
        ENTITLE_KAFKA_TOPIC_PREFIX=PREFIX,
    )
    config.service_env = {s: {"ENTITLE_DATABASE_NAME": database_of(s)} for s in SERVICES}
    with running_stack(config) as running:
        yield running


@pytest.fixture
def browser(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A fresh Chromium (own profile: no cookies) on the stack's portal."""
    chromium_or_skip()
    yield from launch(stack, tmp_path_factory.mktemp("chromium"))
