"""An order's digest changed by one event after the other: the event that makes every
license ready completes the email, with the licenses known then, and only once."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notification.domain.digest import LicenseItem, OrderDigests
from services.notification.domain.records import Digest, DigestItem

AT = datetime(2026, 11, 21, tzinfo=UTC)
ENDS = datetime(2027, 11, 21, tzinfo=UTC)


def fresh(order_id: str) -> Digest:
    return Digest(order_id, "it@acme.example", None, None, None, None, False, AT)


def told(
    license_id: str, ready: bool, of: int | None = None, ends: datetime | None = None
) -> LicenseItem:
    return LicenseItem(
        order_id="O-1", license_id=license_id, account_id="acme", recipient="it@acme.example",
        product="backup-pro", license_key=f"KEY-{license_id}", ready=ready,
        coverage_ends_at=ends, licenses_in_order=of,
    )  # fmt: skip


def test_the_event_that_makes_the_last_license_ready_completes_the_email() -> None:
    orders = OrderDigests([fresh("O-1")], [])
    assert orders.add(told("lic-a", ready=True, of=2)) is None
    assert orders.add(told("lic-b", ready=False, of=2)) is None
    completion = orders.add(told("lic-b", ready=True, ends=ENDS))
    assert completion is not None and completion.digest.sent
    assert [(i.license_id, i.ready, i.coverage_ends_at) for i in completion.items] == [
        ("lic-a", True, None),
        ("lic-b", True, ENDS),
    ]
    # Later events change the licenses, never send the email again.
    assert orders.add(told("lic-c", ready=True)) is None
    assert [i.license_id for i in orders.changed_items] == ["lic-a", "lic-b", "lic-c"]


def test_what_the_database_knew_counts_and_the_first_value_told_stays() -> None:
    known = DigestItem("O-1", "lic-a", "backup-pro", "KEY-lic-a", True, ENDS)
    before = Digest("O-1", "it@acme.example", None, "r@x.example", "acme", None, False, AT)
    orders = OrderDigests([before], [known])
    completion = orders.add(told("lic-a", ready=False, of=1))  # coverage came first
    assert completion is not None
    assert completion.digest.expected == 1 and completion.digest.reseller_email == "r@x.example"
    assert completion.items == [known]
    [digest] = orders.digests
    assert digest.sent


def test_a_sent_digest_gets_no_second_email() -> None:
    sent = Digest("O-1", "it@acme.example", 1, None, "acme", None, True, AT)
    orders = OrderDigests([sent], [])
    assert orders.add(told("lic-a", ready=True, of=1)) is None
