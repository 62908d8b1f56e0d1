"""Input as an attacker sends it, over real HTTP to the services as processes: nothing
answers 5xx, nothing accepted is later lost, and no body is read past its limit."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from entitle_cli.webhook_client import post_order, sample_order, signed_headers
from entitle_dev.stack import Stack

from .conftest import webhook
from .test_order_to_email import admin

MB = 1 << 20


def _stream(url: str, headers: dict[str, str], total: int, chunk: int = 64 * 1024) -> Any:
    """POST `total` bytes chunked (no Content-Length), a chunk at a time, reading the answer
    as soon as it comes: (status, json body, bytes sent before the answer)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        head = [f"POST {parts.path} HTTP/1.1", f"host: {parts.netloc}"]
        head += [f"{k}: {v}" for k, v in headers.items()] + ["transfer-encoding: chunked"]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        conn.setblocking(False)
        sent, answer = 0, b""
        piece = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
        while sent < total:
            with contextlib.suppress(BlockingIOError):
                answer += conn.recv(65536)
            if b"\r\n\r\n" in answer:
                break
            try:
                conn.sendall(piece)
                sent += chunk
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        conn.setblocking(True)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = conn.recv(65536)
            if not data:
                break
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), json.loads(body), sent


@pytest.mark.parametrize(
    ("service", "path", "limit"),
    [
        ("ingress", "/webhooks/orders", 262_144),
        ("licensing", "/licenses/validate", MB),
        ("ticketing", "/tickets", MB),
    ],
)
def test_a_64_mb_chunked_body_is_refused_before_it_is_read(
    stack: Stack, service: str, path: str, limit: int
) -> None:
    headers = {"content-type": "application/json", **admin(stack)}
    status, body, sent = _stream(f"{stack.url(service)}{path}", headers, 64 * MB)
    assert (status, body["code"]) == (413, "PAYLOAD_TOO_LARGE")
    # Refused once the limit was passed: what was sent beyond it is what sat in buffers.
    assert sent < limit + 8 * MB, sent
    status, body = _declared(f"{stack.url(service)}{path}", headers, 64 * MB)
    assert (status, body["code"]) == (413, "PAYLOAD_TOO_LARGE")


def _declared(url: str, headers: dict[str, str], length: int) -> tuple[int, Any]:
    """Headers that announce `length` bytes, and no body: the answer comes before any."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        head = [f"POST {parts.path} HTTP/1.1", f"host: {parts.netloc}"]
        head += [f"{k}: {v}" for k, v in headers.items()] + [f"content-length: {length}"]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        answer = b""
        while not answer.rstrip().endswith(b"}"):
            data = conn.recv(65536)
            if not data:
                break
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.split(b"\r\n\r\n", 1)[1])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda o: o["buyer"].update(company="ACME\u0000 GmbH"),
        lambda o: o["lines"][0].update(sku="BP-SRV\u0000"),
        lambda o: o["buyer"].update(email="it\u0007@acme.example"),
        lambda o: o["lines"][0].update(line_id="1\n"),
    ],
)
def test_an_order_with_control_characters_is_refused_not_accepted_and_lost(
    stack: Stack, tamper: Any
) -> None:
    order = sample_order()
    tamper(order)
    with httpx.Client(timeout=10) as client:
        refused = post_order(client, webhook(stack), stack.secrets.webhook_secret, order)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "INVALID_ORDER"
    assert refused.json()["errors"][0]["field"].startswith(("buyer.", "lines.0."))


def test_a_ticket_with_a_control_character_in_its_address_is_refused_naming_the_field(
    stack: Stack,
) -> None:
    ticket = {
        "account_id": "acme",
        "email": "it\u0001@acme.example",
        "product": "backup-pro",
        "version": "5.1.0",
        "kind": "technical",
        "subject": "Restore fails",
        "body": "Line one\nline two",
    }
    answer = httpx.post(f"{stack.url('ticketing')}/tickets", json=ticket, headers=admin(stack))
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["email"]
    subject = httpx.post(
        f"{stack.url('ticketing')}/tickets",
        json={**ticket, "email": "it@acme.example", "subject": "Restore\r\nBcc: x@evil.example"},
        headers=admin(stack),
    )
    assert [e["field"] for e in subject.json()["errors"]] == ["subject"]


@pytest.mark.parametrize(
    ("service", "path"),
    [("licensing", "/licenses"), ("ticketing", "/tickets"), ("notification", "/deliveries")],
)
def test_an_offset_beyond_64_bits_is_a_validation_error(
    stack: Stack, service: str, path: str
) -> None:
    answer = httpx.get(
        f"{stack.url(service)}{path}", params={"offset": str(2**63)}, headers=admin(stack)
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "VALIDATION_ERROR")


def test_one_webhook_id_sent_concurrently_with_different_orders_wins_once(stack: Stack) -> None:
    url, secret = webhook(stack), stack.secrets.webhook_secret
    statuses: Counter[tuple[int, str]] = Counter()
    lock = threading.Lock()

    def send(webhook_id: str, order: dict[str, Any], start: threading.Barrier) -> None:
        body = json.dumps(order).encode()
        headers = signed_headers(secret, body, webhook_id)
        start.wait()
        with httpx.Client(timeout=30) as client:
            answer = client.post(url, content=body, headers=headers)
        with lock:
            statuses[(answer.status_code, answer.json().get("code", ""))] += 1

    threads = []
    for i in range(10):
        start = threading.Barrier(3)
        for _ in range(3):
            threads.append(threading.Thread(target=send, args=(f"race-{i}", sample_order(), start)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == Counter({(202, ""): 10, (409, "WEBHOOK_ID_REUSED"): 20})
