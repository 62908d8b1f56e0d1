"""`entitle mail` prints the newest captured email, decoded, so a developer can sign in."""

from __future__ import annotations

import os
import time
from email.message import EmailMessage
from pathlib import Path

from entitle_cli.main import app
from typer.testing import CliRunner


def _capture(folder: Path, name: str, to: str, body: str) -> None:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = f"for {to}"
    message.set_content(body, cte="quoted-printable")
    (folder / f"{name}.eml").write_bytes(bytes(message))


def test_the_newest_email_to_an_address_is_printed_decoded(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    link = "http://127.0.0.1:8105/sign-in/link?token=" + "x" * 90
    _capture(mail, "a", "it@acme.example", "old")
    time.sleep(0.01)
    _capture(mail, "b", "it@acme.example", f"Open {link}")
    _capture(mail, "c", "other@example.com", "not this")
    os.utime(mail / "c.eml", (0, 0))
    result = CliRunner().invoke(app, ["mail", "--to", "IT@acme.example", "--var", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert link in result.output and "old" not in result.output
    none = CliRunner().invoke(app, ["mail", "--to", "nobody@x.example", "--var", str(tmp_path)])
    assert none.exit_code == 1
