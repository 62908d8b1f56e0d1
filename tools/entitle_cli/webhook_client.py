"""Sending signed order webhooks, as a shop does (used by `entitle demo` and the tests)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.ingress.domain.webhook_signature import sign


def signed_headers(secret: str, body: bytes, webhook_id: str | None = None) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


def sample_order(
    order_id: str | None = None,
    account: str = "acme",
    email: str = "it@acme.example",
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "order_id": order_id or f"A-{uuid.uuid4().hex[:10]}",
        "placed_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "payment_mode": "annual",
        "buyer": {"account_id": account, "company": "ACME GmbH", "email": email, "reseller": False},
        "end_customer": None,
        "lines": lines
        or [
            {
                "line_id": "1",
                "sku": "BP-SRV",
                "quantity": 1,
                "unit_price": "199.00",
                "license_key": None,
            }
        ],
    }


def post_order(
    client: httpx.Client,
    url: str,
    secret: str,
    order: dict[str, Any],
    webhook_id: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = json.dumps(order).encode()
    headers = {**signed_headers(secret, body, webhook_id), **(extra_headers or {})}
    return client.post(url, content=body, headers=headers)
