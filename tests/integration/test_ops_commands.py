"""`entitle migrate` and `entitle check` against the real database and broker."""

from __future__ import annotations

import asyncio

from entitle_cli.main import app
from entitle_dev.stack import free_port
from typer.testing import CliRunner, Result

from tests.conftest import unique
from tests.infra import Infra

WEBHOOK_SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="


def environment(infra: Infra, **overrides: str) -> dict[str, str]:
    name = unique("ops")
    return {
        "ENTITLE_DATABASE_URL": infra.database_url,
        "ENTITLE_DATABASE_NAME": f"db_{name}",
        "ENTITLE_KAFKA_BOOTSTRAP": infra.bootstrap,
        "ENTITLE_KAFKA_IDEMPOTENCE": str(infra.idempotence).lower(),
        "ENTITLE_KAFKA_TOPIC_PREFIX": f"{name}.",
        "ENTITLE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        "ENTITLE_ADMIN_API_KEY": "admin-key",
        "COLUMNS": "250",
        **overrides,
    }


async def entitle(env: dict[str, str], *args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_migrate_applies_each_migration_once(infra: Infra) -> None:
    env = environment(infra)
    first = await entitle(env, "migrate", "ingress")
    assert first.exit_code == 0, first.output
    assert "runtime/0001_runtime.sql" in first.output
    assert "ingress/0001_ingress.sql" in first.output
    second = await entitle(env, "migrate", "ingress")
    assert second.exit_code == 0, second.output
    assert "ingress: up to date" in second.output


async def test_check_passes_on_a_working_setup_and_names_what_is_pending(infra: Infra) -> None:
    env = environment(infra, ENTITLE_MIGRATE_ON_START="false")
    before = await entitle(env, "check", "ingress")
    assert before.exit_code == 0, before.output
    assert "does not exist yet: created at start" in before.output
    await entitle(env, "migrate", "ingress")
    after = await entitle(env, "check", "ingress")
    assert after.exit_code == 0, after.output
    assert "schema up to date" in after.output
    assert "reachable" in after.output


async def test_check_fails_with_what_to_do(infra: Infra) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    env = environment(
        infra,
        ENTITLE_DATABASE_URL=unreachable,
        ENTITLE_KAFKA_BOOTSRAP="typo",
        ENTITLE_WEBHOOK_SECRETS="",
    )
    result = await entitle(env, "check", "ingress")
    assert result.exit_code == 1, result.output
    assert "cannot reach ENTITLE_DATABASE_URL" in result.output
    assert "did you mean ENTITLE_KAFKA_BOOTSTRAP?" in result.output
    assert "ENTITLE_WEBHOOK_SECRETS is empty" in result.output

    invalid = await entitle(environment(infra, ENTITLE_DATABASE_POOL_SIZE="1"), "check", "ingress")
    assert invalid.exit_code == 1
    assert "ENTITLE_DATABASE_POOL_SIZE" in invalid.output


async def test_check_tells_when_the_broker_refuses_idempotent_producers(infra: Infra) -> None:
    result = await entitle(environment(infra, ENTITLE_KAFKA_IDEMPOTENCE="true"), "check", "ingress")
    if infra.idempotence:  # Apache Kafka accepts them
        assert result.exit_code == 0, result.output
    else:  # the embedded Tansu broker refuses them
        assert result.exit_code == 1, result.output
        assert "ENTITLE_KAFKA_IDEMPOTENCE=false" in result.output


async def test_check_says_what_the_portal_lacks(infra: Infra) -> None:
    result = await entitle(environment(infra), "check", "portal")
    assert result.exit_code == 1, result.output
    assert "ENTITLE_ACCESS_TOKEN_SIGNING_KEY is not set" in result.output
    assert "ENTITLE_SIGN_IN_SEAL_KEY is not set" in result.output


async def test_check_names_missing_dead_letter_topics(infra: Infra) -> None:
    from entitle_cli import registry
    from entitle_events.topics import dead_letter_topic

    from services.runtime import kafka

    env = environment(infra, ENTITLE_KAFKA_CREATE_TOPICS="false")
    prefix = env["ENTITLE_KAFKA_TOPIC_PREFIX"]
    definition = registry.definition(
        "maintenance", registry.settings_class("maintenance")(kafka_bootstrap=infra.bootstrap)
    )
    consumed = definition.subscriptions.topics
    await kafka.ensure_topics(
        infra.bootstrap, [prefix + t for t in (*definition.publishes, *consumed)], 1
    )
    result = await entitle(env, "check", "maintenance")
    assert result.exit_code == 1, result.output
    for topic in consumed:
        assert prefix + dead_letter_topic(topic, "maintenance") in result.output
    await kafka.ensure_topics(
        infra.bootstrap, [prefix + dead_letter_topic(t, "maintenance") for t in consumed], 1
    )
    fixed = await entitle(env, "check", "maintenance")
    assert fixed.exit_code == 0, fixed.output


async def test_check_answers_json_for_scripts_and_the_version_is_printed(infra: Infra) -> None:
    import json

    result = await entitle(environment(infra), "check", "ingress", "--json")
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)
    assert {(f["service"], f["check"], f["status"]) for f in findings} >= {
        ("ingress", "settings", "ok"),
        ("ingress", "broker", "ok"),
    }
    version = await entitle(environment(infra), "--version")
    assert version.exit_code == 0 and version.output.startswith("entitle 0.")
