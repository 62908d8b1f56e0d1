"""The MIME form of an email: text and HTML alternatives, UTF-8, quoted-printable bodies.

Written out directly rather than through `email.mime` and its generator: at a steady rate
the generator (folding every header, encoding bodies in pure Python) took a quarter of the
notification service's CPU. The standard library still does the encoding that needs care:
`binascii.b2a_qp` (in C) for the bodies, `email.header.Header` (RFC 2047) for non-ASCII header
text, `email.utils.formataddr` for display names. The unit tests read every message back with
the standard parser.
"""

from __future__ import annotations

import binascii
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, parseaddr


@dataclass(frozen=True)
class Envelope:
    """What goes over SMTP: the envelope addresses and the message, CRLF line endings."""

    sender: str
    recipient: str
    data: bytes


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str],
) -> Envelope:
    # "=_" never occurs in quoted-printable text ("=" is always followed by a hex digit or a
    # line break there), so the boundary cannot occur in a body.
    boundary = "=_entitle_" + secrets.token_hex(12)
    fields = {
        "From": _address(sender),
        "To": _address(recipient),
        "Subject": _text(subject),
        **{name: _text(value) for name, value in headers.items()},
        "MIME-Version": "1.0",
        "Content-Type": f'multipart/alternative; boundary="{boundary}"',
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    data = b"".join(
        (
            head.encode("utf-8"),  # raw only in a non-ASCII address (RFC 6532)
            b"\r\n",
            _part(boundary, "plain", text),
            _part(boundary, "html", html),
            f"--{boundary}--\r\n".encode("ascii"),
        )
    )
    return Envelope(parseaddr(sender)[1], recipient, data)


def _part(boundary: str, subtype: str, content: str) -> bytes:
    body = content.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(body, istext=True).replace(b"\n", b"\r\n")
    # The line break before the next boundary belongs to the boundary, not to the body.
    return (
        (
            f"--{boundary}\r\n"
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        + encoded
        + b"\r\n"
    )


def _text(value: str) -> str:
    """A header value on one line: ASCII as it is (up to RFC 5322's 998 characters, so a long
    link stays whole), anything else encoded (RFC 2047) and folded."""
    value = " ".join(value.splitlines())  # a line break in a value would start a new header
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(linesep="\r\n")


def _address(value: str) -> str:
    name, address = parseaddr(value)
    if not name:
        return " ".join(value.splitlines())
    return formataddr((name, address), charset="utf-8")
