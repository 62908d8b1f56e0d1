"""The alerting rules query only metrics the services define, and cover the parked outbox."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.unit.deploy.test_grafana_dashboard import defined_samples

RULES = Path(__file__).parents[3] / "deploy" / "prometheus" / "entitle-alerts.yaml"


def test_every_rule_queries_defined_metrics_and_says_what_to_do() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    samples = defined_samples()
    for rule in rules:
        used = set(re.findall(r"\bentitle_\w+", rule["expr"]))
        assert used and used <= samples.keys(), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    parked = [r for r in rules if "entitle_outbox_parked" in r["expr"]]
    assert parked and "entitle outbox" in parked[0]["annotations"]["description"]
