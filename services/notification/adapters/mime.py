"""The MIME form of an email: text and HTML alternatives, UTF-8.

Built with the `compat32` classes (`email.mime`) rather than `EmailMessage`: the modern API
parses every header it is given through the header registry, which made building the message
cost three times as much as everything else in sending it. Non-ASCII header text is encoded
here explicitly (RFC 2047), which is all the modern API would have added.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import formataddr, parseaddr

# Unfolded up to RFC 5322's hard limit: folding a long URL header (List-Unsubscribe) would
# put its value on a continuation line.
_POLICY = compat32.clone(max_line_length=998)
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in the raw message, unlike base64


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
    message = MIMEMultipart("alternative", policy=_POLICY)
    message["From"] = _address(sender)
    message["To"] = _address(recipient)
    message["Subject"] = _text(subject)
    for name, value in headers.items():
        message[name] = _text(value)
    message.attach(_part("plain", text))
    message.attach(_part("html", html))
    with io.BytesIO() as out:
        BytesGenerator(out, policy=_POLICY.clone(linesep="\r\n")).flatten(message)
        return Envelope(parseaddr(sender)[1], recipient, out.getvalue())


def _part(subtype: str, content: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, policy=_POLICY, charset="utf-8")
    part.set_payload(content, _UTF8)
    return part


def _text(value: str) -> str:
    # A Header stands in for its encoded text wherever a header value goes.
    return value if value.isascii() else Header(value, "utf-8")  # type: ignore[return-value]


def _address(value: str) -> str:
    name, address = parseaddr(value)
    if not name:
        return value
    return formataddr((name, address), charset="utf-8")
