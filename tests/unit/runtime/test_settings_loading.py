"""Settings from the environment and secret files, and the errors a bad value gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from entitle_cli.registry import settings_classes

from services.ingress.settings import IngressSettings
from services.licensing.domain.keys import generate_private_key
from services.licensing.settings import LicensingSettings
from services.runtime.settings import SettingsError, load_settings, unknown_variables


def test_a_secret_comes_from_a_file_in_the_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_private_key()
    (tmp_path / "entitle_signing_key").write_text(key)
    monkeypatch.delenv("ENTITLE_SIGNING_KEY", raising=False)
    monkeypatch.setenv("ENTITLE_SECRETS_DIR", str(tmp_path))
    settings = load_settings(LicensingSettings)
    assert settings.signing_key is not None
    assert settings.signing_key.get_secret_value() == key


def test_a_missing_secrets_dir_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTITLE_SECRETS_DIR", "/nonexistent/secrets")
    with pytest.raises(SettingsError) as raised:
        load_settings(IngressSettings)
    assert raised.value.problems == ["ENTITLE_SECRETS_DIR: /nonexistent/secrets is not a directory"]


def test_every_invalid_setting_is_named_without_echoing_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENTITLE_DATABASE_POOL_SIZE", "1")
    monkeypatch.setenv("ENTITLE_SIGNING_KEY", "c2VjcmV0LXZhbHVl")  # base64, but 12 bytes
    with pytest.raises(SettingsError) as raised:
        load_settings(LicensingSettings)
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "ENTITLE_DATABASE_POOL_SIZE",
        "ENTITLE_SIGNING_KEY",
    ]
    assert "32 raw bytes" in problems[1]
    assert "c2VjcmV0LXZhbHVl" not in str(raised.value)


def test_a_misspelt_variable_is_reported_with_the_intended_one() -> None:
    found = unknown_variables(
        settings_classes(),
        {
            "ENTITLE_KAFKA_BOOTSRAP": "x",
            "ENTITLE_SIGNING_KEY": "a setting of another service is known",
            "ENTITLE_COLOUR": "blue",
            "PATH": "/bin",
        },
    )
    assert found == [
        "ENTITLE_COLOUR is not a setting",
        "ENTITLE_KAFKA_BOOTSRAP is not a setting; did you mean ENTITLE_KAFKA_BOOTSTRAP?",
    ]


@pytest.mark.parametrize(
    ("service", "variable", "value", "expected"),
    [
        ("ingress", "ENTITLE_WEBHOOK_SECRETS", "whsec_!!", "`whsec_` followed by base64"),
        ("licensing", "ENTITLE_SIGNING_KEY", "", "not set; create one with `entitle keys"),
        ("notification", "ENTITLE_SMTP_PORT", "twenty-five", "valid integer"),
    ],
)
def test_a_service_with_a_bad_setting_does_not_start_and_says_why(
    service: str, variable: str, value: str, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENTITLE_")}
    if value:
        env[variable] = value
    result = subprocess.run(
        [sys.executable, "-m", "entitle_cli.main", "serve", service],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"{service} cannot start: invalid settings" in result.stderr
    assert variable in result.stderr and expected in result.stderr
