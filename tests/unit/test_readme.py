"""The README's configuration table stays true: every setting is documented, nothing more."""

from __future__ import annotations

import re
from pathlib import Path

from entitle_cli.registry import settings_classes

from services.runtime.settings import SECRETS_DIR_VARIABLE, variable

README = Path(__file__).parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table_and_no_stale_row_remains() -> None:
    declared = {variable(name) for cls in settings_classes() for name in cls.model_fields}
    declared.add(SECRETS_DIR_VARIABLE)
    documented = set(re.findall(r"^\| `(ENTITLE_[A-Z_]+)` \|", README.read_text(), re.MULTILINE))
    assert declared - documented == set(), "settings missing from the README table"
    assert documented - declared == set(), "README documents settings that do not exist"
