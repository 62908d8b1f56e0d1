from __future__ import annotations

from services.runtime.settings import RuntimeSettings


class MaintenanceSettings(RuntimeSettings):
    service: str = "maintenance"
