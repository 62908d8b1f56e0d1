"""License delivery per order: every license one order issues goes out in one email, once
each license's coverage (if it gets any) is known. Pure rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from entitle_events import Event
from entitle_events.licensing import LicenseIssued
from entitle_events.maintenance import CoverageStarted

from services.policy.catalog import Catalog

from .mail_plan import PlannedEmail
from .records import Digest, DigestItem

INITIAL_SOURCES = {"complimentary", "included"}
T = TypeVar("T")


@dataclass(frozen=True)
class LicenseItem:
    """What one event tells about one license of an order's delivery email."""

    order_id: str
    license_id: str
    account_id: str
    recipient: str
    product: str
    license_key: str
    ready: bool
    coverage_ends_at: datetime | None = None
    licenses_in_order: int | None = None
    reseller_email: str | None = None
    reseller_account_id: str | None = None


def license_item(event: Event[Any]) -> LicenseItem | None:
    data = event.data
    if isinstance(data, LicenseIssued):
        return LicenseItem(
            order_id=data.order_id,
            license_id=data.license_id,
            account_id=data.account_id,
            recipient=data.contact_email,
            product=data.product,
            license_key=data.license_key,
            # A license that starts with coverage waits for it, so that key and coverage
            # end arrive together.
            ready=not data.coverage_expected,
            licenses_in_order=data.licenses_in_order,
            reseller_email=data.reseller_email,
            reseller_account_id=data.reseller_account_id,
        )
    if (
        isinstance(data, CoverageStarted)
        and data.order_id
        and any(p.source in INITIAL_SOURCES for p in data.periods)
    ):
        return LicenseItem(
            order_id=data.order_id,
            license_id=data.license_id,
            account_id=data.account_id,
            recipient=data.contact_email,
            product=data.product,
            license_key=data.license_key,
            ready=True,
            coverage_ends_at=data.ends_at,
        )
    return None


def complete(expected: int | None, ready: int) -> bool:
    """The email goes once every license the order issued is ready."""
    return expected is not None and expected > 0 and ready >= expected


def with_item(digest: Digest, item: LicenseItem) -> Digest:
    """What an order's digest knows once one more event told about it: the first value of
    each field stays."""
    return replace(
        digest,
        expected=_known(digest.expected, item.licenses_in_order),
        reseller_email=_known(digest.reseller_email, item.reseller_email),
        account_id=_known(digest.account_id, item.account_id),
        reseller_account_id=_known(digest.reseller_account_id, item.reseller_account_id),
    )


def merged(known: DigestItem | None, item: LicenseItem) -> DigestItem:
    """A license once one more event told about it: ready once any event said so, with the
    latest coverage end told."""
    if known is None:
        first = (item.order_id, item.license_id, item.product, item.license_key, item.ready)
        return DigestItem(*first, item.coverage_ends_at)
    return replace(
        known,
        ready=known.ready or item.ready,
        coverage_ends_at=_known(item.coverage_ends_at, known.coverage_ends_at),
    )


def _known(first: T | None, otherwise: T | None) -> T | None:
    return first if first is not None else otherwise


@dataclass(frozen=True, slots=True)
class Completion:
    """An order whose delivery email one event completes, and its licenses at that event."""

    digest: Digest
    items: list[DigestItem]


class OrderDigests:
    """The digests of the orders a list of events tells about, changed one event after the
    other: each event sees what the earlier ones did, and which event completes an order's
    email is the same as when they come one at a time."""

    def __init__(self, digests: Iterable[Digest], items: Iterable[DigestItem]) -> None:
        self._digests = {digest.order_id: digest for digest in digests}
        self._items: dict[str, dict[str, DigestItem]] = {order: {} for order in self._digests}
        for known in items:
            self._items[known.order_id][known.license_id] = known
        self._changed: set[tuple[str, str]] = set()

    def add(self, item: LicenseItem) -> Completion | None:
        """Apply one event's license to its order (whose digest must be known)."""
        digest = with_item(self._digests[item.order_id], item)
        licenses = self._items[item.order_id]
        licenses[item.license_id] = merged(licenses.get(item.license_id), item)
        self._changed.add((item.order_id, item.license_id))
        completion = None
        if not digest.sent and complete(digest.expected, sum(i.ready for i in licenses.values())):
            digest = replace(digest, sent=True)
            completion = Completion(digest, list(licenses.values()))
        self._digests[item.order_id] = digest
        return completion

    @property
    def digests(self) -> list[Digest]:
        return list(self._digests.values())

    @property
    def changed_items(self) -> list[DigestItem]:
        return [self._items[order][license_id] for order, license_id in sorted(self._changed)]


def delivery_emails(
    order_id: str,
    recipient: str,
    reseller_email: str | None,
    items: Sequence[DigestItem],
    catalog: Catalog,
    *,
    account_id: str | None = None,
    reseller_account_id: str | None = None,
) -> list[PlannedEmail]:
    """The customer's email, and a copy for the reseller who bought for the customer (seed
    002: the reseller transfers licenses and associates maintenance for its customers)."""
    email = replace(delivery_email(order_id, recipient, items, catalog), account_id=account_id)
    if reseller_email is None or reseller_email.lower() == recipient.lower():
        return [email]
    copy = replace(email, recipient=reseller_email, account_id=reseller_account_id or account_id)
    return [email, copy]


def delivery_email(
    order_id: str, recipient: str, items: Sequence[DigestItem], catalog: Catalog
) -> PlannedEmail:
    licenses = [
        {
            "product": _name(catalog, item.product),
            "license_key": item.license_key,
            "coverage_ends_at": item.coverage_ends_at,
        }
        for item in items
    ]
    return PlannedEmail(
        "license_delivered",
        recipient,
        transactional=True,
        data={
            "order_id": order_id,
            "product": licenses[0]["product"],
            "licenses": licenses,
            "brand": catalog.brand_of(items[0].product).model_dump(),
        },
    )


def _name(catalog: Catalog, code: str) -> str:
    product = catalog.product(code)
    return product.name if product else code
