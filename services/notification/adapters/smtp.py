"""Sending over SMTP (aiosmtplib) and telling transient from permanent failures.

Each message's outcome is its own: whatever one message does to a session (a refused
recipient, an address the server cannot take, a dropped connection), the session is reset
or dropped before the next message uses it, so no message fails because of another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import aiosmtplib

from .mime import Envelope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    permanent: bool = False
    code: int | None = None
    error: str = ""
    bounced: bool = False
    """The server refused the recipient for good (5xx to RCPT): the address bounces."""


NOT_SENDABLE = "the recipient address is not ASCII and the SMTP server does not offer SMTPUTF8"


class Mailer:
    """One SMTP session, reconnected when it drops."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        use_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10,
    ) -> None:
        self._options = {
            "hostname": host,
            "port": port,
            "use_tls": use_tls,
            "start_tls": starttls,
            "username": username,
            "password": password,
            "timeout": timeout,
        }
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, message: Envelope) -> SendResult:
        """Never raises for a message's own faults; the session is clean afterwards."""
        for attempt in (1, 2):
            try:
                return await self._transaction(message)
            except aiosmtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    return SendResult(ok=False, error=f"disconnected: {exc}")
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._reset()
                refused = exc.recipients[0] if exc.recipients else None
                result = _classified(refused.code if refused else None, str(refused or exc))
                return SendResult(**{**result.__dict__, "bounced": result.permanent})
            except aiosmtplib.SMTPResponseException as exc:
                await self._reset()
                return _classified(exc.code, exc.message)
            except BaseException as exc:
                # Cancelled or failed half-way (an address the client cannot encode, a
                # timeout): the server may be mid-transaction, so this session is done.
                self._drop()
                if not isinstance(exc, Exception):
                    raise
                return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        raise AssertionError("unreachable")

    async def _transaction(self, message: Envelope) -> SendResult:
        client = await self._connected()
        options: list[str] = []
        if not (message.sender.isascii() and message.recipient.isascii()):
            await client.ehlo()
            if not client.supports_extension("smtputf8"):
                return SendResult(ok=False, permanent=True, error=NOT_SENDABLE)
            options.append("SMTPUTF8")
        await client.sendmail(
            message.sender, [message.recipient], message.data, mail_options=options
        )
        return SendResult(ok=True)

    async def close(self) -> None:
        if self._client is not None and self._client.is_connected:
            with suppress(aiosmtplib.SMTPException, OSError):
                await self._client.quit()
        self._drop()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            self._client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
            await self._client.connect()
        return self._client

    async def _reset(self) -> None:
        """aiosmtplib resets after a refused command; make sure, or start afresh."""
        if self._client is None or not self._client.is_connected:
            return
        try:
            await self._client.rset()
        except Exception:
            self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _classified(code: int | None, message: str) -> SendResult:
    permanent = code is not None and 500 <= code < 600
    return SendResult(ok=False, permanent=permanent, code=code, error=message[:500])


class MailerPool:
    """Several SMTP sessions, so a batch of emails goes out in parallel."""

    def __init__(self, size: int, make: Callable[[], Mailer]) -> None:
        self.size = size
        self._all = [make() for _ in range(size)]
        self._idle: asyncio.Queue[Mailer] = asyncio.Queue()
        for mailer in self._all:
            self._idle.put_nowait(mailer)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Mailer]:
        """A session for one message, held until the caller has recorded its outcome: so at
        most `size` messages are ever accepted by the server and not yet recorded."""
        mailer = await self._idle.get()
        try:
            yield mailer
        finally:
            self._idle.put_nowait(mailer)

    async def close(self) -> None:
        for mailer in self._all:
            await mailer.close()
