"""Deployment files generated from the service registry, so that a new service, topic or
subscription reaches every deployment without anyone editing a list by hand:

* `deploy/kubernetes/topics.txt`: every topic and dead-letter topic the services need, with
  partitions and configs; compose's `kafka-init` and the Kubernetes `kafka-topics` Job read
  it (through `deploy/kubernetes/create-topics.sh`);
* `deploy/kubernetes/disruption-budgets.yaml`: a PodDisruptionBudget per service.

`make schemas` (`entitle docs`) rewrites them; a test fails when a committed copy is stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from entitle_events.topics import TOPICS, dead_letter_topic

from services.runtime.service import ServiceDefinition
from services.runtime.settings import RuntimeSettings

from . import registry

KUBERNETES_DIR = Path(__file__).parents[2] / "deploy" / "kubernetes"
TOPIC_LIST = KUBERNETES_DIR / "topics.txt"
DISRUPTION_BUDGETS = KUBERNETES_DIR / "disruption-budgets.yaml"

PARTITIONS: int = RuntimeSettings.model_fields["kafka_partitions"].default
# Events feed projections and `entitle replay`: a month of history. Dead letters wait for an
# operator (the service's dead_letters table keeps them too).
EVENT_TOPIC_CONFIGS = {"cleanup.policy": "delete", "retention.ms": str(30 * 86_400_000)}
DEAD_LETTER_CONFIGS = {"cleanup.policy": "delete", "retention.ms": str(90 * 86_400_000)}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str]

    def line(self) -> str:
        configs = ",".join(f"{k}={v}" for k, v in sorted(self.configs.items()))
        return f"{self.name} {self.partitions} {configs}"


def needed_topics(definitions: Iterable[ServiceDefinition]) -> list[TopicSpec]:
    """The catalog's topics, those the services publish or consume, and the dead-letter topic
    of every (topic, consumer group) a service subscribes to."""
    defs = list(definitions)
    events = set(TOPICS)
    dead_letters = set()
    for d in defs:
        events |= {*d.publishes, *d.subscriptions.topics}
        group = d.settings.consumer_group
        dead_letters |= {dead_letter_topic(t, group) for t in d.subscriptions.topics}
    return [TopicSpec(t, PARTITIONS, EVENT_TOPIC_CONFIGS) for t in sorted(events)] + [
        TopicSpec(t, PARTITIONS, DEAD_LETTER_CONFIGS) for t in sorted(dead_letters)
    ]


def render_topic_list(specs: Iterable[TopicSpec]) -> str:
    lines = [
        "# Every topic Entitle's services need: <name> <partitions> <config=value,...>.",
        "# Generated from the services' definitions by `make schemas`; do not edit.",
        "# Read by deploy/kubernetes/create-topics.sh (compose kafka-init, the kafka-topics Job).",
        *(spec.line() for spec in specs),
    ]
    return "\n".join(lines) + "\n"


def render_disruption_budgets(names: Iterable[str]) -> str:
    """One PodDisruptionBudget per service: a node drain takes one copy down at a time."""
    documents = [
        "\n".join(
            [
                f"# {name}: at most one copy down during voluntary disruptions (drains, upgrades).",
                "apiVersion: policy/v1",
                "kind: PodDisruptionBudget",
                "metadata:",
                f"  name: {name}",
                "  labels:",
                f"    app.kubernetes.io/name: {name}",
                "spec:",
                "  maxUnavailable: 1",
                "  selector:",
                "    matchLabels:",
                f"      app.kubernetes.io/name: {name}",
            ]
        )
        for name in names
    ]
    return (
        "# Generated from the service registry by `make schemas`; do not edit.\n"
        + "\n---\n".join(documents)
        + "\n"
    )


def generated() -> dict[Path, str]:
    definitions = [registry.described(name) for name in registry.SERVICE_NAMES]
    return {
        TOPIC_LIST: render_topic_list(needed_topics(definitions)),
        DISRUPTION_BUDGETS: render_disruption_budgets(registry.SERVICE_NAMES),
    }


def write() -> list[Path]:
    written = []
    for path, text in generated().items():
        path.write_text(text)
        written.append(path)
    return written
