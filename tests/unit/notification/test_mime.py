"""The emails' MIME form reads back as written, non-ASCII text included."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from hypothesis import given
from hypothesis import strategies as st

from services.notification.adapters.mime import build_message

text_strategy = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200
).filter(lambda t: t.strip() == t)


def lines(text: str) -> list[str]:
    """Email has one line ending (CRLF); any ending written reads back as a line break."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parsed(**overrides: str) -> EmailMessage:
    fields = {
        "sender": "Entitle <licenses@entitle.example>",
        "recipient": "it@acme.example",
        "subject": "Your licenses",
        "text": "Key: ABC\n",
        "html": "<p>Key: ABC</p>\n",
        **overrides,
    }
    built = build_message(**fields, headers={"Message-ID": "<m1@entitle.example>"})
    assert built.recipient == fields["recipient"]
    assert built.sender == "licenses@entitle.example"
    assert b"\n" not in built.data.replace(b"\r\n", b"")  # CRLF line endings only
    message = email.message_from_bytes(built.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# A display name as configured in ENTITLE_MAIL_FROM: words in any script.
name_strategy = st.text(
    st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=20
).map(lambda word: f"{word} GmbH")


@given(subject=text_strategy, company=name_strategy, body=st.text(max_size=300))
def test_subject_sender_name_and_bodies_survive_any_unicode(
    subject: str, company: str, body: str
) -> None:
    message = parsed(
        subject=subject,
        sender=f"{company} <licenses@entitle.example>",
        text=body + "\n",
        html=f"<p>{body}</p>\n",
    )
    assert message["Subject"] == subject
    assert message["From"].addresses[0].display_name == company
    assert message["From"].addresses[0].addr_spec == "licenses@entitle.example"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert lines(plain.get_content()) == lines(body + "\n")
    assert html.get_content_type() == "text/html"


def test_headers_and_structure() -> None:
    message = parsed(subject="Lizenzen für Müller GmbH")
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == "<m1@entitle.example>"
    assert message["To"] == "it@acme.example"
    assert message["Subject"] == "Lizenzen für Müller GmbH"
    assert "=?utf-8?" in str(message.as_bytes())  # encoded, not raw 8-bit, in the header


def test_a_long_header_value_stays_on_its_line() -> None:
    link = "<https://notify.example/unsubscribe?email=a%40b.example&token=" + "f" * 64 + ">"
    built = build_message(
        sender="licenses@entitle.example",
        recipient="a@b.example",
        subject="Offer",
        text="t",
        html="h",
        headers={"List-Unsubscribe": link},
    )
    assert f"List-Unsubscribe: {link}\r\n".encode() in built.data
