"""A non-editable install (the container image) carries every file the code reads."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[3]


def test_package_data_covers_every_non_python_file_of_the_packages() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    missed = [
        str(path.relative_to(ROOT))
        for base in (ROOT / "services", ROOT / "shared" / "entitle_events")
        for path in base.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix not in {".py", ".pyc"}
        and not any(fnmatch.fnmatch(path.name, p) for p in patterns)
    ]
    assert missed == []
