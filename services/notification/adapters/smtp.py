"""Sending over SMTP (aiosmtplib) and telling transient from permanent failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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


class Mailer:
    """Keeps one SMTP connection open and reconnects when it drops."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        use_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 15,
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
        self._lock = asyncio.Lock()

    async def send(self, message: Envelope) -> SendResult:
        async with self._lock:
            for attempt in (1, 2):
                try:
                    client = await self._connected()
                    await client.sendmail(message.sender, [message.recipient], message.data)
                    return SendResult(ok=True)
                except aiosmtplib.SMTPServerDisconnected as exc:
                    await self._drop()
                    if attempt == 2:
                        return SendResult(ok=False, error=f"disconnected: {exc}")
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients[0] if exc.recipients else None
                    code = refused.code if refused else None
                    return _classified(code, str(refused or exc))
                except aiosmtplib.SMTPResponseException as exc:
                    await self._reset()
                    return _classified(exc.code, exc.message)
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    await self._drop()
                    return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        return SendResult(ok=False, error="unreachable")

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            self._client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
            await self._client.connect()
        return self._client

    async def _reset(self) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.rset()
            except aiosmtplib.SMTPException:
                await self._drop()

    async def _drop(self) -> None:
        if self._client is not None:
            try:
                if self._client.is_connected:
                    await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()
            self._client = None


def _classified(code: int | None, message: str) -> SendResult:
    permanent = code is not None and 500 <= code < 600
    return SendResult(ok=False, permanent=permanent, code=code, error=message[:500])


class MailerPool:
    """Several SMTP connections, so a batch of emails goes out in parallel."""

    def __init__(self, size: int, make: Callable[[], Mailer]) -> None:
        self._idle: asyncio.Queue[Mailer] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(make())
        self._all = list(self._idle._queue)  # type: ignore[attr-defined]

    async def send(self, message: Envelope) -> SendResult:
        mailer = await self._idle.get()
        try:
            return await mailer.send(message)
        finally:
            self._idle.put_nowait(mailer)

    async def close(self) -> None:
        for mailer in self._all:
            await mailer.close()
