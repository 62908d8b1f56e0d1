"""The other services' HTTP APIs, called for the person signed in.

Every call carries a fresh access token naming the session's account (and nothing else):
the services check it themselves, so a mistake here cannot show another account's data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from services.runtime.auth import STAFF_SCOPES, AccessTokenIssuer

from ..domain import answers
from ..domain.apis import NewOwner, NewTicket, ServiceError, ServiceUnavailable
from .desk_api import HttpStaffApi

PAGE_LIMIT = 500
"""The most the services' listings answer at once."""
MAX_LICENSES = 5000
"""An account's licenses the pages read at most (pages of PAGE_LIMIT)."""


@dataclass(frozen=True)
class Endpoints:
    licensing: str
    maintenance: str
    ticketing: str
    notification: str


class HttpServices:
    """The services over HTTP, each call with a fresh token (see `domain.apis.Services`)."""

    def __init__(
        self,
        endpoints: Endpoints,
        issuer: AccessTokenIssuer | None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoints = endpoints
        self._issuer = issuer
        self._client = client or httpx.AsyncClient(timeout=10)

    def for_account(
        self, subject: str, account_id: str, scopes: frozenset[str], now: datetime
    ) -> HttpAccountApi:
        if self._issuer is None:
            raise ServiceUnavailable("ENTITLE_ACCESS_TOKEN_SIGNING_KEY is not set")
        token = self._issuer.mint(subject, account_id, scopes, now)
        return HttpAccountApi(self, {"authorization": f"Bearer {token}"}, account_id)

    def for_staff(self, subject: str, role: str, now: datetime) -> HttpStaffApi:
        """A desk user's calls: a staff token with their role's scopes only."""
        if self._issuer is None:
            raise ServiceUnavailable("ENTITLE_ACCESS_TOKEN_SIGNING_KEY is not set")
        token = self._issuer.mint_staff(subject, role, STAFF_SCOPES[role], now)
        return HttpStaffApi(self, {"authorization": f"Bearer {token}"})

    def anonymous(self) -> HttpAccountApi:
        """Calls whose credential is in the request itself (a license key, a signed link)."""
        return HttpAccountApi(self, {}, None)

    async def call(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.request(
                method, url, params=clean, json=json, headers=headers
            )
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"{url}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"{url}: HTTP {response.status_code}")
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            if not isinstance(body, dict):
                body = {}
            raise ServiceError(
                response.status_code,
                str(body.get("code", f"HTTP_{response.status_code}")),
                str(body.get("detail", "the request was refused")),
                body,
            )
        return body


class HttpAccountApi:
    """The calls the portal's pages make, for one account (or with no account)."""

    def __init__(self, services: HttpServices, headers: dict[str, str], account_id: str | None):
        self._s = services
        self._e = services.endpoints
        self._h = headers
        self._account_id = account_id

    @property
    def account_id(self) -> str | None:
        return self._account_id

    async def _get(self, url: str, **params: Any) -> Any:
        return await self._s.call("GET", url, self._h, params=params)

    async def _post(self, url: str, body: Any = None, **params: Any) -> Any:
        return await self._s.call("POST", url, self._h, params=params, json=body)

    # licensing
    async def all_licenses(self, **filters: str | None) -> list[answers.License]:
        found: list[answers.License] = []
        offset: int | None = 0
        while offset is not None and len(found) < MAX_LICENSES:
            page = answers.Listing[answers.License].model_validate(
                await self._get(
                    f"{self._e.licensing}/licenses", **filters, limit=PAGE_LIMIT, offset=offset
                )
            )
            found.extend(page.items)
            offset = page.next_offset
        return found

    async def license(self, key: str) -> answers.License:
        return answers.License.model_validate(
            await self._get(f"{self._e.licensing}/licenses/{_seg(key)}")
        )

    async def license_file(self, key: str) -> dict[str, Any]:
        url = f"{self._e.licensing}/licenses/{_seg(key)}/file"
        result: dict[str, Any] = await self._get(url)
        return result

    async def license_facts(self, key: str) -> answers.LicenseFacts:
        return answers.LicenseFacts.model_validate((await self.license_file(key))["payload"])

    async def deactivate_machine(self, key: str, fingerprint: str) -> None:
        url = f"{self._e.licensing}/licenses/{_seg(key)}/activations/{_seg(fingerprint)}"
        await self._s.call("DELETE", url, self._h)

    async def releases(self, product: str) -> list[answers.Release]:
        return [
            answers.Release.model_validate(r)
            for r in await self._get(f"{self._e.licensing}/releases", product=product)
        ]

    async def transfer_license(self, key: str, owner: NewOwner) -> None:
        url = f"{self._e.licensing}/licenses/{_seg(key)}/transfer"
        await self._post(url, asdict(owner))

    async def transfer_order(self, order_id: str, owner: NewOwner) -> None:
        url = f"{self._e.licensing}/orders/{_seg(order_id)}/transfer"
        await self._post(url, asdict(owner))

    # maintenance
    async def coverage(self, key: str) -> answers.Coverage:
        return answers.Coverage.model_validate(
            await self._get(f"{self._e.maintenance}/coverage/{_seg(key)}")
        )

    async def eligibility(self, key: str, version: str) -> answers.Eligibility:
        return answers.Eligibility.model_validate(
            await self._get(f"{self._e.maintenance}/eligibility", key=key, version=version)
        )

    async def renewal_quote(self, key: str) -> answers.RenewalQuote:
        return answers.RenewalQuote.model_validate(
            await self._get(f"{self._e.maintenance}/renewal-quote", key=key)
        )

    async def unused_maintenance_codes(self) -> list[answers.MaintenanceCode]:
        body = await self._get(
            f"{self._e.maintenance}/maintenance-codes", unused=True, limit=PAGE_LIMIT
        )
        return list(answers.Listing[answers.MaintenanceCode].model_validate(body).items)

    async def associate(self, code: str, key: str) -> None:
        await self._post(
            f"{self._e.maintenance}/associations",
            {"maintenance_code": code, "license_key": key},
        )

    # ticketing
    async def support_options(
        self, product: str, version: str, kind: str
    ) -> answers.SupportOptions:
        body = await self._get(
            f"{self._e.ticketing}/support-options",
            account=self._account_id,
            product=product,
            version=version,
            kind=kind,
        )
        return answers.SupportOptions.model_validate(body)

    async def tickets(
        self, limit: int, offset: int, status: str | None
    ) -> answers.Listing[answers.TicketSummary]:
        body = await self._get(
            f"{self._e.ticketing}/tickets", limit=limit, offset=offset, status=status
        )
        return answers.Listing[answers.TicketSummary].model_validate(body)

    async def ticket(self, number: str) -> answers.Ticket:
        return answers.Ticket.model_validate(
            await self._get(f"{self._e.ticketing}/tickets/{_seg(number)}")
        )

    async def open_ticket(self, ticket: NewTicket, request_id: str) -> str:
        created = await self._s.call(
            "POST",
            f"{self._e.ticketing}/tickets",
            {**self._h, "idempotency-key": request_id},
            json=asdict(ticket),
        )
        return str(created["number"])

    async def ticket_command(
        self, number: str, command: str, body: dict[str, Any] | None = None
    ) -> None:
        await self._post(f"{self._e.ticketing}/tickets/{_seg(number)}/{command}", body)

    # notification
    async def unsubscribe(self, email: str, token: str) -> None:
        await self._post(f"{self._e.notification}/unsubscribe", email=email, token=token)


def _seg(value: str) -> str:
    """One path segment, whatever the value holds."""
    return quote(value, safe="")
