"""The README's configuration table stays true: every setting is documented, nothing more."""

from __future__ import annotations

import re
from pathlib import Path

from services.ingress.settings import IngressSettings
from services.licensing.settings import LicensingSettings
from services.maintenance.settings import MaintenanceSettings
from services.notification.settings import NotificationSettings
from services.ticketing.settings import TicketingSettings

README = Path(__file__).parents[2] / "README.md"
SETTINGS = (
    IngressSettings,
    LicensingSettings,
    MaintenanceSettings,
    NotificationSettings,
    TicketingSettings,
)


def test_every_setting_is_in_the_readme_table_and_no_stale_row_remains() -> None:
    declared = {f"ENTITLE_{name.upper()}" for cls in SETTINGS for name in cls.model_fields}
    documented = set(re.findall(r"^\| `(ENTITLE_[A-Z_]+)` \|", README.read_text(), re.MULTILINE))
    assert declared - documented == set(), "settings missing from the README table"
    assert documented - declared == set(), "README documents settings that do not exist"
