from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.devstack.stack import Stack

from .browser import Browser, chromium_or_skip, launch


@pytest.fixture
def browser(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A fresh Chromium (own profile: no cookies) on the stack's portal."""
    chromium_or_skip()
    yield from launch(stack, tmp_path_factory.mktemp("chromium"))
