"""The whole system on one machine: embedded PostgreSQL and broker, SMTP capture, and the five
services as separate processes. `entitle dev` runs it; the end-to-end tests drive it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from services.licensing.domain.keys import generate_private_key
from services.runtime.auth import public_key_of
from services.runtime.sealed import new_seal_key
from services.runtime.settings import DEFAULT_PORTS, default_database

from .broker import MEMORY, EmbeddedBroker, StorageUnsupported
from .mail import MailCapture
from .postgres import EmbeddedPostgres
from .processes import end

SERVICES = ("ingress", "licensing", "maintenance", "ticketing", "notification", "portal")
# Keys that sign what others trust (license keys, the portal's access tokens): kept in
# secrets.json only, never in dev.json.
PRIVATE_KEYS = {
    "ENTITLE_SIGNING_KEY": "signing_key",
    "ENTITLE_ACCESS_TOKEN_SIGNING_KEY": "access_token_key",
}


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def service_of(process: str) -> str:
    """The service a process runs: `licensing-2` is a copy of licensing."""
    return process.split("-", 1)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


BrokerStorage = Literal["auto", "postgres", "memory"]
BROKER_DATABASE = "entitle_broker"


@dataclass
class StackConfig:
    var_dir: Path
    pg_port: int = 5432
    broker_port: int = 9092
    smtp_port: int = 2525
    http_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    durable_db: bool = True
    statement_stats: bool = False
    """Count every statement (pg_stat_statements), for the benchmark."""
    database_url: str | None = None
    """An external PostgreSQL server instead of the embedded one."""
    kafka_bootstrap: str | None = None
    """An external broker instead of the embedded one."""
    kafka_idempotence: bool | None = None
    broker_storage: BrokerStorage = "auto"
    """Where the embedded broker keeps its data: `postgres` (database entitle_broker on the
    stack's PostgreSQL: a restart keeps topics, records, offsets and dead letters), `memory`
    (a throwaway stack), or `auto`: PostgreSQL where the Tansu build has the engine."""
    start_mail_capture: bool = True
    movable_clock: bool = True
    """Services add the offset in `clock_file` to the wall clock, so tests can move time;
    off for the benchmark (the file is looked at on every reading of the clock)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Settings of one service only, e.g. more HTTP workers for licensing."""
    copies: dict[str, int] = field(default_factory=dict)
    """Services to run as several processes in one consumer group, e.g. {"licensing": 2}:
    the copies are named `licensing-2`, … and get free HTTP ports."""

    @classmethod
    def ephemeral(cls, var_dir: Path) -> StackConfig:
        """Free ports everywhere, a fast throwaway database: for tests and benchmarks."""
        return cls(
            var_dir=var_dir,
            pg_port=free_port(),
            broker_port=free_port(),
            smtp_port=free_port(),
            http_ports={name: free_port() for name in SERVICES},
            durable_db=False,
            broker_storage="memory",
            database_url=os.environ.get("ENTITLE_DATABASE_URL"),
            kafka_bootstrap=os.environ.get("ENTITLE_KAFKA_BOOTSTRAP"),
        )


@dataclass(frozen=True)
class Secrets:
    webhook_secret: str
    admin_api_key: str
    signing_key: str
    unsubscribe_secret: str
    access_token_key: str
    sign_in_seal_key: str
    session_secret: str

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        fresh = {
            "webhook_secret": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "admin_api_key": "ent_admin_" + secrets.token_urlsafe(24),
            "signing_key": generate_private_key(),
            "unsubscribe_secret": secrets.token_urlsafe(32),
            "access_token_key": generate_private_key(),
            "sign_in_seal_key": new_seal_key(),
            "session_secret": secrets.token_urlsafe(32),
        }
        kept = json.loads(path.read_text()) if path.exists() else {}
        made = cls(**{**fresh, **kept})
        if kept.keys() == fresh.keys():
            return made
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(made.__dict__, indent=2))
        path.chmod(0o600)
        return made


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.var = config.var_dir.resolve()
        self.var.mkdir(parents=True, exist_ok=True)
        (self.var / "log").mkdir(exist_ok=True)
        self.secrets = Secrets.load_or_create(self.var / "secrets.json")
        self.postgres: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.mail: MailCapture | None = None
        self.broker_storage = "external" if config.kafka_bootstrap else config.broker_storage
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.clock_file = self.var / "clock-offset"

    # -- infrastructure -------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        if self.config.database_url:
            return self.config.database_url
        assert self.postgres is not None
        return self.postgres.url

    def database_name(self, service: str) -> str:
        """The database `service` runs on in this stack."""
        named = self.config.service_env.get(service, {}).get("ENTITLE_DATABASE_NAME")
        return named or default_database(service)

    @property
    def bootstrap(self) -> str:
        if self.config.kafka_bootstrap:
            return self.config.kafka_bootstrap
        assert self.broker is not None
        return self.broker.bootstrap

    @property
    def mail_dir(self) -> Path:
        return self.var / "mail"

    def stop_leftovers(self) -> None:
        """Stop processes a previous launcher started and could not stop (it was killed)."""
        pids = self.var / "pids.json"
        if not pids.exists():
            return
        alive = []
        for pid in json.loads(pids.read_text()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
                alive.append(pid)
        deadline = time.monotonic() + 20
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pid for pid in alive if _running(pid)]
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pids.unlink()

    def _remember(self, pid: int) -> None:
        pids = self.var / "pids.json"
        known = json.loads(pids.read_text()) if pids.exists() else []
        pids.write_text(json.dumps([*known, pid]))

    def start_infrastructure(self) -> None:
        if not self.config.database_url:
            self.postgres = EmbeddedPostgres(
                self.var / "pg",
                self.config.pg_port,
                durable=self.config.durable_db,
                statement_stats=self.config.statement_stats,
            )
            self.postgres.start()
            self._remember(self.postgres.pid)
        if not self.config.kafka_bootstrap:
            self._start_broker()
        if self.config.start_mail_capture:
            self.mail = MailCapture(self.mail_dir, self.config.smtp_port)
            self.mail.start()

    def _start_broker(self) -> None:
        log = self.var / "log" / "broker.log"
        wanted = self.config.broker_storage
        if wanted != "memory":
            storage = re.sub(r"^postgres(ql)?://", "postgres://", self._broker_database())
            self.broker = EmbeddedBroker(self.config.broker_port, log, storage)
            try:
                self.broker.start()
                self.broker_storage = "postgres"
            except StorageUnsupported:
                if wanted == "postgres":
                    raise
                self.broker = None
        if self.broker is None:
            self.broker = EmbeddedBroker(self.config.broker_port, log, MEMORY)
            self.broker.start()
            self.broker_storage = "memory"
        self._remember(self.broker.pid)

    def _broker_database(self) -> str:
        from services.runtime.db import ensure_database, with_database

        # In a thread of its own: the caller may be inside an event loop (async tests).
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, ensure_database(self.database_url, BROKER_DATABASE)).result()
        return with_database(self.database_url, BROKER_DATABASE)

    # -- services -------------------------------------------------------------------------
    def process_names(self) -> list[str]:
        """Every service process: one per service, and the copies (`licensing-2`, …)."""
        names = []
        for service in SERVICES:
            names.append(service)
            names += [f"{service}-{n}" for n in range(2, self.config.copies.get(service, 1) + 1)]
        return names

    def url(self, process: str) -> str:
        if process not in self.config.http_ports:  # a copy: any free port
            self.config.http_ports[process] = free_port()
        return f"http://127.0.0.1:{self.config.http_ports[process]}"

    def environment(self) -> dict[str, str]:
        """The settings every service of this stack shares (also what the ops commands use)."""
        idempotence = self.config.kafka_idempotence
        if idempotence is None:
            idempotence = bool(self.config.kafka_bootstrap)  # Tansu refuses idempotence
        return {
            "ENTITLE_DATABASE_URL": self.database_url,
            "ENTITLE_KAFKA_BOOTSTRAP": self.bootstrap,
            "ENTITLE_KAFKA_IDEMPOTENCE": str(idempotence).lower(),
            # Tansu answers a waiting fetch only when the wait ends, not when records arrive:
            # a short wait keeps each hop's delay small (Apache Kafka needs no such tuning).
            "ENTITLE_KAFKA_FETCH_MAX_WAIT_MS": "500" if idempotence else "50",
            "ENTITLE_ADMIN_API_KEY": self.secrets.admin_api_key,
            "ENTITLE_WEBHOOK_SECRETS": self.secrets.webhook_secret,
            "ENTITLE_SIGNING_KEY": self.secrets.signing_key,
            "ENTITLE_SMTP_HOST": "127.0.0.1",
            "ENTITLE_SMTP_PORT": str(self.config.smtp_port),
            **(
                {"ENTITLE_CLOCK_OFFSET_FILE": str(self.clock_file)}
                if self.config.movable_clock
                else {}
            ),
            "ENTITLE_UNSUBSCRIBE_SECRET": self.secrets.unsubscribe_secret,
            # Every link in every email opens a page of this stack's portal.
            "ENTITLE_PORTAL_URL": self.url("portal"),
            "ENTITLE_ACCESS_TOKEN_SIGNING_KEY": self.secrets.access_token_key,
            "ENTITLE_ACCESS_TOKEN_PUBLIC_KEYS": json.dumps(
                {"p1": public_key_of(self.secrets.access_token_key)}
            ),
            "ENTITLE_SIGN_IN_SEAL_KEY": self.secrets.sign_in_seal_key,
            "ENTITLE_SESSION_SECRET": self.secrets.session_secret,
            **{
                f"ENTITLE_{name.upper()}_URL": self.url(name)
                for name in ("licensing", "maintenance", "ticketing", "notification")
            },
            **self.config.extra_env,
        }

    def service_env(self, process: str) -> dict[str, str]:
        self.url(process)  # a copy gets its port
        return {
            **os.environ,
            **self.environment(),
            "ENTITLE_HTTP_PORT": str(self.config.http_ports[process]),
            "PYTHONUNBUFFERED": "1",
            **self.config.service_env.get(service_of(process), {}),
        }

    def start_service(self, process: str) -> None:
        """Start one service process (`licensing`, or a copy such as `licensing-2`)."""
        log = open(self.var / "log" / f"{process}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[process] = subprocess.Popen(
            [sys.executable, "-m", "entitle_cli.main", "serve", service_of(process)],
            env=self.service_env(process),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._remember(self.processes[process].pid)

    def start_services(self, processes: Iterable[str] | None = None) -> None:
        for process in self.process_names() if processes is None else processes:
            self.start_service(process)

    def wait_ready(
        self,
        services: Iterable[str] | None = None,
        timeout: float = 60,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        pending = set(self.process_names() if services is None else services)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while pending:
                for service in sorted(pending):
                    process = self.processes[service]
                    if process.poll() is not None:
                        raise RuntimeError(f"{service} exited: {self.log_tail(service)}")
                    try:
                        if client.get(f"{self.url(service)}/readyz").status_code == 200:
                            pending.discard(service)
                    except httpx.TransportError:
                        pass
                if cancelled():
                    raise KeyboardInterrupt
                if pending and time.monotonic() > deadline:
                    raise RuntimeError(f"not ready after {timeout}s: {sorted(pending)}")
                if pending:
                    time.sleep(0.1)

    def kill_service(self, service: str, sig: int = signal.SIGKILL) -> None:
        end(self.processes.pop(service, None), sig, timeout=30)

    def restart_service(self, service: str, sig: int = signal.SIGKILL) -> None:
        self.kill_service(service, sig)
        self.start_service(service)

    def log_tail(self, service: str, lines: int = 30) -> str:
        path = self.var / "log" / f"{service}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def stop(self) -> None:
        for service in list(self.processes):
            process = self.processes[service]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for service in list(self.processes):
            self.kill_service(service, signal.SIGTERM)
        if self.mail is not None:
            self.mail.stop()
            self.mail = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None

    def write_info(self) -> Path:
        """`var/dev.json`, readable by its owner only: it holds the webhook secret and the
        admin key. The signing key stays in `secrets.json` alone."""
        path = self.var / "dev.json"
        text = json.dumps(self.describe(), indent=2) + "\n"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(text)
        path.chmod(0o600)  # also when an older, wider file was there
        return path

    def describe(self) -> dict[str, Any]:
        """What `var/dev.json` holds: every URL, port and secret a client needs."""
        return {
            "services": {name: self.url(name) for name in SERVICES},
            "ports": {
                **{name: self.config.http_ports[name] for name in SERVICES},
                "broker": self.config.broker_port,
                "smtp": self.config.smtp_port,
                "postgres": self.config.pg_port,
            },
            "kafka_bootstrap": self.bootstrap,
            "broker_storage": self.broker_storage,
            "database_url": self.database_url,
            "smtp": f"127.0.0.1:{self.config.smtp_port}",
            "mail_dir": str(self.mail_dir),
            "webhook_url": f"{self.url('ingress')}/webhooks/orders",
            "webhook_secret": self.secrets.webhook_secret,
            "admin_api_key": self.secrets.admin_api_key,
            "signing_public_key_url": f"{self.url('licensing')}/.well-known/entitle-signing-key",
            "secrets_file": str(self.var / "secrets.json"),
            "environment": {
                name: value
                for name, value in self.environment().items()
                if name not in PRIVATE_KEYS
            },
        }
