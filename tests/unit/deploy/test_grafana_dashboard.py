"""The Grafana dashboard cannot drift from the code: it queries only metrics the services
define, and plots every series operators watch."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from tests.helpers import OPERATIONS_SERIES

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "entitle-dashboard.json"
METRIC_MODULES = (
    "services.runtime.metrics",
    "services.notification.metrics",
    "services.ticketing.metrics",
)
# The sample names Prometheus stores for a family, by type.
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}


def defined_samples() -> dict[str, str]:
    """Every sample name the services expose, mapped to its metric family."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    return {
        family.name + suffix: family.name
        for family in REGISTRY.collect()
        for suffix in SUFFIXES.get(family.type, ())
    }


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    top: list[dict[str, Any]] = dashboard["panels"]
    return [p for panel in top for p in (panel, *panel.get("panels", []))]


def targets(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for panel in panels(dashboard) for t in panel.get("targets", [])]


def used_samples(dashboard: dict[str, Any]) -> set[str]:
    queries = [t["expr"] for t in targets(dashboard)]
    queries += [v.get("definition", "") for v in dashboard["templating"]["list"]]
    return {name for query in queries for name in re.findall(r"\bentitle_\w+", query)}


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def test_every_metric_the_dashboard_queries_is_defined() -> None:
    unknown = used_samples(load()) - defined_samples().keys()
    assert unknown == set(), "the dashboard queries metrics no service defines"


def test_every_operations_series_is_plotted() -> None:
    families = defined_samples()
    plotted = {families[name] for name in used_samples(load()) if name in families}
    assert set(OPERATIONS_SERIES) - plotted == set()


def test_every_query_uses_the_datasource_variable_and_the_service_filter() -> None:
    dashboard = load()
    assert dashboard["schemaVersion"] >= 39
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["service"]["datasource"]["uid"] == "${DS_PROMETHEUS}"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    for target in targets(dashboard):
        assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert '=~"$service"' in target["expr"], target["expr"]
