"""Page rendering: Jinja2 with autoescape on, from the portal's templates and those of any
other area that shares its layout (the desk)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).parent.parent / "templates"
STATIC_DIR = Path(__file__).parent.parent / "static"


def environment(extra_dirs: tuple[Path, ...] = ()) -> Environment:
    return Environment(
        loader=FileSystemLoader([*extra_dirs, TEMPLATE_DIR]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the release: no file's time is checked on every render.
        auto_reload=False,
    )
