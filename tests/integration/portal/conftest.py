"""One portal on the test servers, with sign-in limits small enough to reach."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.portal.bootstrap import build
from services.portal.settings import PortalSettings
from services.runtime.service import Runtime
from tests.conftest import settings_for
from tests.infra import Infra


@pytest.fixture
async def portal(infra: Infra) -> AsyncIterator[Runtime]:
    settings = settings_for(infra, PortalSettings, sign_in_per_address=3, sign_in_per_client=50)
    runtime = Runtime(build(settings))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
