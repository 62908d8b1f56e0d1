"""docs/policies.md stays true: every test it names exists, every seed has its section."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "policies.md").read_text()
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
SEEDS = [
    "000_0c0c54835486d6d5.txt",
    "001_90b03c2bd76b6f02.txt",
    "002_6abeae7babda7a08.txt",
    "003_08478ec2a3dcc0d9.txt",
    "004_7a6f5143b72f5624.txt",
]


def test_every_test_the_table_names_exists() -> None:
    named = REFERENCE.findall(DOC)
    assert len(named) > 50
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (ROOT / path).is_file()
        or not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    ]
    assert missing == []


def test_every_seed_has_a_section_with_rules_and_what_is_not_modelled() -> None:
    sections = re.split(r"^## ", DOC, flags=re.MULTILINE)
    for seed in SEEDS:
        (section,) = [s for s in sections if s.startswith(seed)]
        assert REFERENCE.search(section), seed
        assert "Not modelled:" in section, seed


def test_every_preset_the_doc_names_exists() -> None:
    presets = ROOT / "services" / "policy" / "catalog" / "presets"
    for name in re.findall(r"\(preset `([\w-]+)`\)", DOC):
        assert (presets / f"{name}.toml").is_file(), name
