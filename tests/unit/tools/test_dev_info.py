"""`var/dev.json` tells a developer where everything is; it holds secrets, so only its owner
reads it, and the license signing key is not among them (it stays in `secrets.json`)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from entitle_cli.connect import use_dev_stack_environment
from entitle_dev.stack import Stack, StackConfig


def test_dev_json_is_private_and_holds_no_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = StackConfig(
        var_dir=tmp_path, database_url="postgresql://pg@127.0.0.1:1/x", kafka_bootstrap="b:1"
    )
    stack = Stack(config)
    (tmp_path / "dev.json").write_text("{}")
    (tmp_path / "dev.json").chmod(0o644)  # an older file, readable by everyone
    path = stack.write_info()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    text = path.read_text()
    assert stack.secrets.signing_key not in text
    assert stack.secrets.access_token_key not in text
    assert "ENTITLE_SIGNING_KEY" not in json.loads(text)["environment"]
    # The ops commands still get the key, from secrets.json. They set the stack's whole
    # environment: a copy keeps it from the tests that run later.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENTITLE_")}
    monkeypatch.setattr(os, "environ", environment)
    assert use_dev_stack_environment(path)
    assert os.environ["ENTITLE_SIGNING_KEY"] == stack.secrets.signing_key
    assert os.environ["ENTITLE_ACCESS_TOKEN_SIGNING_KEY"] == stack.secrets.access_token_key
