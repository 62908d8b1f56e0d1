"""What the pages need besides the runtime, built once by bootstrap.py."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment

from services.policy.catalog import Brand, Catalog

from ..domain.apis import Services
from ..domain.principals import Area
from ..handlers.sign_in import SignInPolicy
from ..settings import PortalSettings


@dataclass(frozen=True, slots=True)
class Web:
    settings: PortalSettings
    templates: Environment
    static_dir: Path
    catalog: Catalog
    services: Services
    sign_in: SignInPolicy
    csrf_key: bytes
    nav: Mapping[Area, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def secure_cookies(self) -> bool:
        if self.settings.secure_cookies is not None:
            return self.settings.secure_cookies
        host = urlsplit(self.settings.portal_url).hostname or ""
        return host not in ("localhost", "127.0.0.1", "::1")

    @property
    def brand(self) -> Brand:
        return self.catalog.brand

    def csrf_token(self, browser_id: str, session_id: str | None) -> str:
        message = f"{browser_id}:{session_id or ''}".encode()
        return hmac.new(self.csrf_key, message, hashlib.sha256).hexdigest()
