"""A service with several worker processes (ENTITLE_HTTP_WORKERS): each is a full copy that
serves HTTP and consumes in the group, and all of them stop with the service."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
from entitle_cli.webhook_client import post_order, sample_order
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_until
from tests.infra import Infra

from .conftest import mails_for, running_stack, stack_config


def test_two_workers_serve_and_consume_and_stop_together(infra: Infra, tmp_path: Path) -> None:
    config = stack_config(infra, tmp_path, ENTITLE_KAFKA_TOPIC_PREFIX="workers.")
    # Own databases and topics: the suite's other stack runs on the same servers.
    config.service_env = {
        name: {"ENTITLE_DATABASE_NAME": f"workers_{name}"} for name in config.http_ports
    }
    config.service_env["licensing"]["ENTITLE_HTTP_WORKERS"] = "2"
    with running_stack(config) as stack:
        launcher = psutil.Process(stack.processes["licensing"].pid)

        def spawned() -> list[psutil.Process]:
            return [p for p in launcher.children() if "spawn_main" in " ".join(p.cmdline())]

        workers = wait_until(lambda: len(spawned()) >= 2 and spawned())
        assert len(workers) == 2
        # Whichever worker answers /metrics counts the requests every worker served.
        with httpx.Client(timeout=10) as client:
            licensing = stack.url("licensing")
            before = _healthz_requests(client, licensing)
            for _ in range(20):
                assert client.get(f"{licensing}/healthz").is_success
            assert {_healthz_requests(client, licensing) - before for _ in range(4)} == {20}
        orders = [sample_order() for _ in range(6)]
        with httpx.Client(timeout=10) as client:
            for order in orders:
                url = f"{stack.url('ingress')}/webhooks/orders"
                assert post_order(client, url, stack.secrets.webhook_secret, order).is_success
        for order in orders:
            wait_until(lambda order=order: mails_for(stack.mail_dir, order["order_id"]), 90)
            assert len(mails_for(stack.mail_dir, order["order_id"])) == 1
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def _healthz_requests(client: httpx.Client, url: str) -> float:
    text = client.get(f"{url}/metrics").text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "entitle_http_requests_total"
        and s.labels.get("route") == "/healthz"
        and s.labels.get("method") == "GET"
    )
