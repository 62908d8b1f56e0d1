"""One SMTP session, message after message, against a real SMTP server (aiosmtpd): whatever
goes wrong with one message, the session is reset or dropped, and the next message on it is
sent normally (no `503 nested MAIL command`, no failure inherited from another message)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from entitle_dev.stack import free_port

from services.notification.adapters.mime import build_message
from services.notification.adapters.smtp import NOT_SENDABLE, Mailer, SendResult


@dataclass
class Server:
    """Answers by recipient: `slow@` stalls its DATA, `gone@` is refused at RCPT, `big@` is
    refused at DATA; counts MAIL commands and nested ones."""

    mail_commands: int = 0
    accepted: list[str] = field(default_factory=list)
    nested: int = 0

    async def handle_MAIL(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.mail_commands += 1
        if envelope.mail_from is not None:
            self.nested += 1
            return "503 5.5.1 Error: nested MAIL command"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        [to] = envelope.rcpt_tos
        if to.startswith("slow@"):
            await asyncio.sleep(3)
        if to.startswith("big@"):
            return "552 5.3.4 message too big"
        self.accepted.append(to)
        return "250 accepted"


@pytest.fixture
def server() -> Iterator[tuple[Server, int]]:
    handler = Server()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def _message(to: str) -> Any:
    return build_message(
        sender="Entitle <licenses@entitle.example>",
        recipient=to,
        subject="Your license",
        text="key",
        html="<p>key</p>",
        headers={"Message-ID": f"<{abs(hash(to))}@entitle.example>"},
    )


async def _send_then_good(mailer: Mailer, first: str) -> tuple[SendResult, SendResult]:
    result = await mailer.send(_message(first))
    after = await mailer.send(_message("good@acme.example"))
    return result, after


async def test_a_timeout_drops_the_session_and_the_next_message_goes(
    server: tuple[Server, int],
) -> None:
    handler, port = server
    mailer = Mailer("127.0.0.1", port, timeout=0.5)
    slow, after = await _send_then_good(mailer, "slow@acme.example")
    assert not slow.ok and not slow.permanent and "Timeout" in slow.error
    assert after.ok
    assert handler.accepted[-1:] == ["good@acme.example"] and handler.nested == 0
    await mailer.close()


@pytest.mark.parametrize(
    ("first", "permanent", "bounced", "code"),
    [("gone@acme.example", True, True, 550), ("big@acme.example", True, False, 552)],
)
async def test_a_refusal_resets_the_session_and_only_a_refused_recipient_bounces(
    server: tuple[Server, int], first: str, permanent: bool, bounced: bool, code: int
) -> None:
    handler, port = server
    mailer = Mailer("127.0.0.1", port)
    refused, after = await _send_then_good(mailer, first)
    assert (refused.ok, refused.permanent, refused.bounced, refused.code) == (
        False,
        permanent,
        bounced,
        code,
    )
    assert after.ok and handler.nested == 0
    assert handler.accepted == ["good@acme.example"]
    await mailer.close()


async def test_a_non_ascii_address_is_refused_by_the_client_when_the_server_lacks_smtputf8(
    server: tuple[Server, int],
) -> None:
    handler, port = server
    mailer = Mailer("127.0.0.1", port)
    refused, after = await _send_then_good(mailer, "jürgen@müller.example")
    assert refused == SendResult(ok=False, permanent=True, error=NOT_SENDABLE)
    assert after.ok and handler.nested == 0 and handler.accepted == ["good@acme.example"]
    await mailer.close()


async def test_a_send_cancelled_half_way_leaves_no_half_open_session(
    server: tuple[Server, int],
) -> None:
    handler, port = server
    mailer = Mailer("127.0.0.1", port)
    sending = asyncio.create_task(mailer.send(_message("slow@acme.example")))
    await asyncio.sleep(0.5)
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert (await mailer.send(_message("good@acme.example"))).ok
    assert handler.nested == 0 and handler.accepted == ["good@acme.example"]
    await mailer.close()
