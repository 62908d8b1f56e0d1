"""An SMTP capture server (aiosmtpd): every message accepted is kept as an `.eml` file."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.folder / name)  # readers never see half a message
        return "250 Message accepted for delivery"


class MailCapture:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self._controller = Controller(_SaveToFolder(folder), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    @property
    def thread_id(self) -> int | None:
        """The native id of the thread serving SMTP (the benchmark counts its CPU)."""
        thread = self._controller._thread
        return thread.native_id if thread is not None else None

    def stop(self) -> None:
        self._controller.stop()
