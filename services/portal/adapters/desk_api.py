"""The services' HTTP APIs as the support desk calls them, for one signed-in agent or admin.

Every call carries a staff token naming the person and their role: an agent's token holds
only the ticket scopes (the services refuse an agent anything else), an admin's also the
release, license-status and operations scopes. The services record the person as the actor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..domain.answers import Entitlement, License, Listing, Queue, Release, Ticket
from ..domain.apis import OPERATED

if TYPE_CHECKING:  # it builds these objects: imported for the annotations only
    from .services_api import HttpServices


LOOKUP_LIMIT = 100
"""The licenses an admin's look-up by order or email shows at most."""


def _seg(value: str) -> str:
    return quote(value, safe="")


class HttpStaffApi:
    def __init__(self, services: HttpServices, headers: dict[str, str]) -> None:
        self._s = services
        self._e = services.endpoints
        self._h = headers

    async def _get(self, url: str, **params: Any) -> Any:
        return await self._s.call("GET", url, self._h, params=params)

    async def _post(self, url: str, body: Any = None) -> Any:
        return await self._s.call("POST", url, self._h, json=body)

    # tickets ---------------------------------------------------------------------------
    async def queue(self, **filters: str | int | None) -> Queue:
        return Queue.model_validate(await self._get(f"{self._e.ticketing}/queue", **filters))

    async def ticket(self, number: str) -> Ticket:
        return Ticket.model_validate(await self._get(f"{self._e.ticketing}/tickets/{_seg(number)}"))

    async def entitlement(self, number: str) -> Entitlement:
        url = f"{self._e.ticketing}/tickets/{_seg(number)}/entitlement"
        return Entitlement.model_validate(await self._get(url))

    async def ticket_action(
        self, number: str, action: str, body: dict[str, Any] | None = None
    ) -> None:
        await self._post(f"{self._e.ticketing}/tickets/{_seg(number)}/{action}", body or {})

    # licenses and releases (admins) --------------------------------------------------------
    async def license(self, key: str) -> License:
        return License.model_validate(await self._get(f"{self._e.licensing}/licenses/{_seg(key)}"))

    async def licenses(self, by: str, value: str) -> list[License]:
        body = await self._get(f"{self._e.licensing}/licenses", **{by: value}, limit=LOOKUP_LIMIT)
        return list(Listing[License].model_validate(body).items)

    async def change_license(self, key: str, command: str, reason: str) -> None:
        await self._post(f"{self._e.licensing}/licenses/{_seg(key)}/{command}", {"reason": reason})

    async def publish_release(self, product: str, version: str, released_at: str) -> None:
        await self._post(
            f"{self._e.licensing}/releases",
            {"product": product, "version": version, "released_at": released_at},
        )

    async def releases(self, product: str) -> list[Release]:
        return [
            Release.model_validate(r)
            for r in await self._get(f"{self._e.licensing}/releases", product=product)
        ]

    # operations (admins) -------------------------------------------------------------------
    def _base(self, service: str) -> str:
        if service not in OPERATED:
            raise ValueError(f"unknown service {service!r}")
        base: str = getattr(self._e, service)
        return base

    async def dead_letters(self, service: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._get(f"{self._base(service)}/dead-letters")
        return result

    async def replay(self, service: str, ids: list[int] | None) -> list[int]:
        body = await self._post(f"{self._base(service)}/dead-letters/replay", {"ids": ids})
        return [int(i) for i in body["replayed"]]

    async def consumer_lag(self, service: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._get(f"{self._base(service)}/consumer-lag")
        return result
