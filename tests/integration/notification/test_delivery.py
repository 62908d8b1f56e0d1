"""Email delivery against a real SMTP server (aiosmtpd): retries, bounces, suppression,
unsubscribe, redelivery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from entitle_events import decode, new_event
from entitle_events.common import CoveragePeriod
from entitle_events.maintenance import CoverageStarted
from entitle_events.notification import NotificationFailed
from prometheus_client import REGISTRY

from services.notification.handlers.events import flush_overdue_digests
from services.policy.catalog import load_catalog
from tests.helpers import eventually
from tests.integration.kafka_tools import read_all

from .conftest import NOW, Notification, issued, upgrade


async def test_a_temporary_failure_is_retried_and_one_email_arrives(
    notification: Notification,
) -> None:
    to = "retry@acme.example"
    retried, sent = emails("license_delivered", "retried"), emails("license_delivered", "sent")
    notification.inbox.temporary_failures[to] = 2
    await notification.handle(issued(to))
    [delivery] = await eventually(lambda: _with_status(notification, to, "sent"))
    assert delivery["attempts"] == 3
    assert len(notification.inbox.to(to)) == 1
    await eventually(lambda: counted("license_delivered", "sent", sent + 1))
    assert emails("license_delivered", "retried") == retried + 2


async def test_a_permanent_rejection_is_recorded_and_suppresses_offers_but_not_keys(
    notification: Notification,
) -> None:
    to = "gone@acme.example"
    failed_count = emails("license_delivered", "failed")
    suppressed_count = emails("upgrade_available", "suppressed")
    notification.inbox.rejected.add(to)
    await notification.handle(issued(to))
    [failed] = await eventually(lambda: _with_status(notification, to, "failed"))
    assert failed["smtp_code"] == 550 and "mailbox unavailable" in failed["last_error"]
    reported = await eventually(lambda: _failure_event(notification, to))
    assert reported.smtp_code == 550 and reported.permanent
    notification.inbox.rejected.discard(to)  # the mailbox works again
    await notification.handle(upgrade(to))
    [suppressed] = await eventually(lambda: _with_status(notification, to, "suppressed"))
    assert suppressed["template"] == "upgrade_available"
    await eventually(lambda: counted("upgrade_available", "suppressed", suppressed_count + 1))
    assert emails("license_delivered", "failed") == failed_count + 1
    await notification.handle(issued(to, order="O-2"))  # transactional mail is never suppressed
    await eventually(lambda: _with_status(notification, to, "sent"))
    assert [m["X-Entitle-Template"] for m in notification.inbox.to(to)] == ["license_delivered"]


def emails(template: str, outcome: str) -> float:
    """This process's `entitle_emails_total` for one template and outcome."""
    labels = {"template": template, "outcome": outcome}
    return REGISTRY.get_sample_value("entitle_emails_total", labels) or 0.0


async def counted(template: str, outcome: str, expected: float) -> bool:
    # Counted just after the commit, so possibly a moment after the delivery row is visible.
    return emails(template, outcome) == expected


async def _failure_event(notification: Notification, to: str) -> NotificationFailed | None:
    settings = notification.runtime.settings
    topic = settings.kafka_topic_prefix + "notification.deliveries"
    for record in await read_all(settings.kafka_bootstrap, topic):
        event = decode(record.headers, record.value)
        if isinstance(event.data, NotificationFailed) and event.data.recipient == to:
            return event.data
    return None


async def test_offers_carry_a_one_click_unsubscribe_that_works(notification: Notification) -> None:
    to = "offers@acme.example"
    await notification.handle(upgrade(to))
    await eventually(lambda: _with_status(notification, to, "sent"))
    [message] = notification.inbox.to(to)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://notify.example/unsubscribe?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    forged = await notification.client.post("/unsubscribe", params={**query, "token": "0" * 32})
    assert (forged.status_code, forged.json()["code"]) == (403, "INVALID_UNSUBSCRIBE_TOKEN")
    done = await notification.client.post("/unsubscribe", params=query)
    assert done.status_code == 200
    await notification.handle(upgrade(to))
    assert await eventually(lambda: _with_status(notification, to, "suppressed"))
    keys = notification.inbox.to(to)
    assert all(m["X-Entitle-Template"] == "upgrade_available" for m in keys) and len(keys) == 1
    # License keys still arrive.
    await notification.handle(issued(to, order="O-3"))
    assert await eventually(lambda: _count(notification, to, "license_delivered", "sent"))


async def test_the_same_event_twice_gives_one_email(notification: Notification) -> None:
    to = "twice@acme.example"
    event = issued(to)
    await notification.handle(event)
    await notification.handle(event)
    await eventually(lambda: _with_status(notification, to, "sent"))
    assert len(await notification.deliveries(recipient=to)) == 1
    assert len(notification.inbox.to(to)) == 1


async def _with_status(notification: Notification, to: str, status: str) -> list[dict[str, Any]]:
    return await notification.deliveries(recipient=to, status=status)


async def _count(notification: Notification, to: str, template: str, status: str) -> int:
    return len(await notification.deliveries(recipient=to, template=template, status=status))


async def test_the_licenses_of_one_order_arrive_in_one_email_once_all_are_ready(
    notification: Notification,
) -> None:
    to = "digest@acme.example"
    await notification.handle(issued(to, order="O-9", license_id="lic-a", of=2))
    await notification.handle(issued(to, order="O-9", license_id="lic-b", of=2, covered=True))
    assert await notification.deliveries(recipient=to) == []  # lic-b waits for its coverage
    ends = datetime(2027, 2, 21, 12, 0, tzinfo=UTC)
    coverage = CoverageStarted(
        license_id="lic-b", license_key="KEY-lic-b", product="backup-pro", account_id="acme",
        contact_email=to, plan="backup-care-12", order_id="O-9", ends_at=ends,
        periods=[CoveragePeriod(starts_at=NOW, ends_at=ends, source="complimentary")],
    )  # fmt: skip
    await notification.handle(
        new_event(coverage, source="maintenance", subject="lic-b", time=NOW, correlationid="O-9")
    )
    [delivery] = await eventually(lambda: _with_status(notification, to, "sent"))
    assert delivery["subject"] == "Your 2 license keys (order O-9)"
    [message] = notification.inbox.to(to)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "KEY-lic-a" in text and "KEY-lic-b" in text and "21 February 2027" in text


async def test_a_license_whose_coverage_never_comes_is_still_delivered_after_the_wait(
    notification: Notification,
) -> None:
    to = "waiting@acme.example"
    await notification.handle(issued(to, order="O-7", license_id="lic-w", covered=True))
    runtime = notification.runtime
    assert await flush_overdue_digests(runtime, load_catalog(), runtime.settings) == 0  # too early
    await runtime.pool.execute(
        "update license_digests set created_at = created_at - interval '1 hour'"
        " where order_id = 'O-7'"
    )
    # The service's own flush job may get there first (every commit wakes it): either way
    # the digest is flushed exactly once.
    flushed = await flush_overdue_digests(runtime, load_catalog(), runtime.settings)
    flushed += await flush_overdue_digests(runtime, load_catalog(), runtime.settings)
    assert flushed <= 1
    runtime.wake()
    [delivery] = await eventually(lambda: _with_status(notification, to, "sent"))
    assert delivery["template"] == "license_delivered"
    [message] = notification.inbox.to(to)
    assert "KEY-lic-w" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
