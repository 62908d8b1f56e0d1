"""docker-compose.yml stays valid: Compose itself parses it when installed, and its start
order refers only to services that exist and can satisfy the condition."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "compose" / ".env.example"
# The example leaves the secrets empty and the file refuses empty ones (`${VAR:?}`).
SECRETS = {
    "ENTITLE_ADMIN_API_KEY": "ent_admin_test",
    "ENTITLE_WEBHOOK_SECRETS": "whsec_dGVzdA==",
    "ENTITLE_SIGNING_KEY": "dGVzdA==",
    "ENTITLE_ACCESS_TOKEN_SIGNING_KEY": "dGVzdA==",
    "ENTITLE_ACCESS_TOKEN_PUBLIC_KEYS": '{"p1": "dGVzdA=="}',
    "ENTITLE_SIGN_IN_SEAL_KEY": "dGVzdA==",
    "ENTITLE_SESSION_SECRET": "test",
    "ENTITLE_UNSUBSCRIBE_SECRET": "shared",
}


def compose_command() -> list[str] | None:
    """`docker compose` (the plugin), else the standalone `docker-compose`, else None."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_compose_accepts_the_file() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    result = subprocess.run(
        [*command, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRETS},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_start_order_refers_to_services_that_can_satisfy_it() -> None:
    yaml = pytest.importorskip("yaml")
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    for name, service in services.items():
        if "healthcheck" in service:
            assert service["healthcheck"].get("test"), f"{name}: healthcheck without a test"
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
            else:
                assert condition in {"service_started", "service_completed_successfully"}
