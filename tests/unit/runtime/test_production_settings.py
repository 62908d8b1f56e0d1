"""With ENTITLE_ENVIRONMENT=production, the settings every copy must share are required."""

from __future__ import annotations

import pytest

from services.notification.settings import NotificationSettings
from services.runtime.settings import SettingsError, load_settings
from services.ticketing.settings import TicketingSettings


def test_production_requires_the_shared_secret_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTITLE_ENVIRONMENT", "production")
    for name in ("ENTITLE_UNSUBSCRIBE_SECRET", "ENTITLE_PORTAL_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as raised:
        load_settings(NotificationSettings)
    assert [p.split(" ")[0] for p in raised.value.problems] == [
        "ENTITLE_UNSUBSCRIBE_SECRET",
        "ENTITLE_PORTAL_URL",
    ]
    with pytest.raises(SettingsError) as ticketing:
        load_settings(TicketingSettings)
    assert ticketing.value.problems[0].startswith("ENTITLE_PORTAL_URL must be set")

    monkeypatch.setenv("ENTITLE_UNSUBSCRIBE_SECRET", "shared-secret")
    monkeypatch.setenv("ENTITLE_PORTAL_URL", "https://portal.example.org")
    settings = load_settings(NotificationSettings)
    assert settings.portal_url == "https://portal.example.org"


def test_development_keeps_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENTITLE_ENVIRONMENT", raising=False)
    monkeypatch.delenv("ENTITLE_UNSUBSCRIBE_SECRET", raising=False)
    assert load_settings(NotificationSettings).unsubscribe_secret is None
