"""The deployment files and the code cannot disagree: the topic list is generated from the
services' definitions, compose's kafka-init and the Kubernetes kafka-topics Job create exactly
that list, every service of the registry is deployed everywhere, and every Kubernetes manifest
passes `kubernetes-validate --strict`; no file sets a key twice, and every service of compose
and Kubernetes starts its links at the same portal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from entitle_cli import deploy_files, registry
from entitle_events.topics import TOPICS, dead_letter_topic

from services.runtime.settings import DEFAULT_PORTS

ROOT = Path(__file__).parents[3]
KUBERNETES = ROOT / "deploy" / "kubernetes"
COMPOSE = ROOT / "docker-compose.yml"
SCRIPT = KUBERNETES / "create-topics.sh"


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; a deployment tool may take
    the first, so a key written twice is an error here."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        written = [k.value for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
        twice = {k for k in written if written.count(k) > 1}
        if twice:
            raise yaml.constructor.ConstructorError(
                None, None, f"{sorted(twice)} written twice", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


def load_all(path: Path) -> list[Any]:
    return list(yaml.load_all(path.read_text(), Loader=UniqueKeyLoader))


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, document)
        for path in sorted(KUBERNETES.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for document in load_all(path)
        if document
    ]


def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    return loaded


def test_the_committed_generated_files_are_the_generated_ones() -> None:
    for path, text in deploy_files.generated().items():
        assert path.read_text() == text, f"{path.relative_to(ROOT)} is stale: run `make schemas`"


def test_the_topic_list_has_every_topic_and_dead_letter_topic_the_services_use() -> None:
    listed = {
        line.split()[0]
        for line in (KUBERNETES / "topics.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    needed = set(TOPICS)
    for name in registry.SERVICE_NAMES:
        definition = registry.described(name)
        needed |= set(definition.publishes) | set(definition.subscriptions.topics)
        needed |= {dead_letter_topic(t, name) for t in definition.subscriptions.topics}
    assert listed == needed
    assert "maintenance.coverage.licensing.dlt" in listed  # one compose used to miss


def test_compose_and_kubernetes_create_the_topics_from_the_list() -> None:
    init = yaml.safe_load(COMPOSE.read_text())["services"]["kafka-init"]
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in init["volumes"]}
    assert mounts["./deploy/kubernetes/topics.txt"] == "/entitle/topics.txt"
    assert mounts["./deploy/kubernetes/create-topics.sh"] == "/entitle/create-topics.sh"
    assert init["entrypoint"] == ["/bin/bash", "/entitle/create-topics.sh", "/entitle/topics.txt"]

    [generator] = kustomization()["configMapGenerator"]
    assert generator["name"] == "entitle-topics"
    assert set(generator["files"]) == {"topics.txt", "create-topics.sh"}
    [job] = [
        d for _, d in manifests() if d["kind"] == "Job" and d["metadata"]["name"] == "kafka-topics"
    ]
    pod = job["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "topics", "configMap": {"name": "entitle-topics"}}]
    assert pod["containers"][0]["command"] == [
        "/bin/bash",
        "/entitle/create-topics.sh",
        "/entitle/topics.txt",
    ]


def test_every_service_is_deployed_everywhere() -> None:
    resources = kustomization()["resources"]
    compose_services = yaml.safe_load(COMPOSE.read_text())["services"]
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in manifests()}
    for name in registry.SERVICE_NAMES:
        assert f"{name}.yaml" in resources
        assert {("Deployment", name), ("Service", name), ("PodDisruptionBudget", name)} <= kinds
        assert compose_services[name]["command"] == [name]
        environment = compose_services[name]["environment"]
        assert environment["ENTITLE_HTTP_PORT"] == str(DEFAULT_PORTS[name])
    for path, document in manifests():
        if document["kind"] == "Deployment":
            spec = document["spec"]["template"]["spec"]
            keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
            assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}, path
    for listed in resources:
        assert (KUBERNETES / listed).exists(), listed


@pytest.mark.parametrize(
    "document", [d for _, d in manifests()], ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_every_manifest_passes_strict_validation(document: dict[str, Any]) -> None:
    if document["apiVersion"].startswith("monitoring.coreos.com/"):
        pytest.skip("the Prometheus Operator's CRDs have no bundled schema")
    kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_strict_validation_catches_an_unknown_field() -> None:
    [(_, deployment)] = [
        (p, d) for p, d in manifests() if d["kind"] == "Deployment" and p.stem == "ingress"
    ]
    deployment["spec"]["template"]["spec"]["containers"][0]["enviroment"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def _run_script(tmp_path: Path, **env: str) -> list[list[str]]:
    """create-topics.sh with a kafka-topics stand-in that records each call's arguments."""
    calls = tmp_path / "calls"
    stub = tmp_path / "kafka-topics"
    stub.write_text(
        '#!/usr/bin/env bash\nn=$(ls "$CALLS" | wc -l)\n'
        'printf "%s\\n" "$@" > "$CALLS/call-$(printf %05d "$n")"\n'
        'for a in "$@"; do case "$prev" in --command-config) cp "$a" "$CALLS/properties";;'
        ' esac; prev="$a"; done\n'
    )
    stub.chmod(0o755)
    calls.mkdir()
    subprocess.run(
        ["bash", str(SCRIPT), str(KUBERNETES / "topics.txt")],
        check=True,
        env={
            "PATH": os.environ["PATH"],
            "KAFKA_TOPICS": str(stub),
            "CALLS": str(calls),
            "ENTITLE_KAFKA_BOOTSTRAP": "kafka:9092",
            **env,
        },
    )
    return [path.read_text().splitlines() for path in sorted(calls.glob("call-*"))]


def test_the_script_creates_each_listed_topic_with_its_partitions_and_configs(
    tmp_path: Path,
) -> None:
    calls = _run_script(tmp_path, ENTITLE_KAFKA_REPLICATION="1", ENTITLE_KAFKA_TOPIC_PREFIX="p.")
    creates = [c for c in calls if "--create" in c]
    specs = deploy_files.needed_topics(registry.described(n) for n in registry.SERVICE_NAMES)
    assert len(creates) == len(specs)
    for call, spec in zip(creates, specs, strict=True):
        assert call[call.index("--topic") + 1] == "p." + spec.name
        assert call[call.index("--partitions") + 1] == str(spec.partitions)
        assert call[call.index("--replication-factor") + 1] == "1"
        configs = {call[i + 1] for i, arg in enumerate(call) if arg == "--config"}
        assert configs == {"min.insync.replicas=1", *(f"{k}={v}" for k, v in spec.configs.items())}
    assert "--describe" in calls[-1]


def test_the_script_logs_in_with_the_services_sasl_settings(tmp_path: Path) -> None:
    _run_script(
        tmp_path,
        ENTITLE_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        ENTITLE_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        ENTITLE_KAFKA_SASL_USERNAME="entitle",
        ENTITLE_KAFKA_SASL_PASSWORD="s3cret",
        ENTITLE_KAFKA_SSL_CAFILE="/etc/kafka/ca.pem",
    )
    properties = (tmp_path / "calls" / "properties").read_text().splitlines()
    assert properties == [
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
        ' username="entitle" password="s3cret";',
        "ssl.truststore.type=PEM",
        "ssl.truststore.location=/etc/kafka/ca.pem",
    ]


def test_no_deployment_file_sets_a_key_twice() -> None:
    assert load_all(COMPOSE)
    with pytest.raises(yaml.constructor.ConstructorError, match="written twice"):
        yaml.load("a: 1\nb: 2\na: 3\n", Loader=UniqueKeyLoader)


def test_every_service_starts_its_links_at_the_portal() -> None:
    [compose] = load_all(COMPOSE)
    urls = {
        name: compose["services"][name]["environment"].get("ENTITLE_PORTAL_URL")
        for name in registry.SERVICE_NAMES
    }
    assert set(urls.values()) == {"${ENTITLE_PORTAL_URL:-http://localhost:8105}"}, urls
    [config] = [d for _, d in manifests() if d["kind"] == "ConfigMap"]
    assert config["data"]["ENTITLE_PORTAL_URL"].startswith("https://"), config["data"]
    for path, document in manifests():
        if document["kind"] == "Deployment":
            for container in document["spec"]["template"]["spec"]["containers"]:
                names = {e["name"] for e in container.get("env", [])}
                assert "ENTITLE_PORTAL_URL" not in names, path
