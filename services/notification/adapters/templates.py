"""Email rendering: Jinja2, autoescape on for HTML, plain text and HTML alternatives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).parent.parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _date(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d %B %Y")


def _datetime(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d %B %Y, %H:%M %Z")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        # The templates ship with the release: no file's time is checked on every render.
        auto_reload=False,
    )
    env.filters["date"] = _date
    env.filters["datetime"] = _datetime
    return env


ENVIRONMENT = _environment()
DEFAULT_PORTAL_URL = "https://support.example.com"
ENVIRONMENT.globals["portal_url"] = DEFAULT_PORTAL_URL


def use_portal(url: str) -> None:
    """Where the links of every email point (ENTITLE_PORTAL_URL)."""
    ENVIRONMENT.globals["portal_url"] = url.rstrip("/")


def template_names() -> list[str]:
    return sorted(p.name for p in TEMPLATE_DIR.iterdir() if (p / "body.txt").exists())


def render(template: str, data: dict[str, Any]) -> Rendered:
    def one(part: str) -> str:
        return ENVIRONMENT.get_template(f"{template}/{part}").render(**data)

    return Rendered(
        subject=" ".join(one("subject.txt").split()),
        text=one("body.txt").strip() + "\n",
        html=one("body.html"),
    )
