from __future__ import annotations

from services.runtime.settings import RuntimeSettings


class TicketingSettings(RuntimeSettings):
    service: str = "ticketing"
