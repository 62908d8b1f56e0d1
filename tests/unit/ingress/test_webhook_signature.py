"""Standard Webhooks signatures as ingress checks them."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from services.ingress.domain.webhook_signature import SignatureError, decode_secret, sign, verify

SECRET = "whsec_" + base64.b64encode(b"old-secret-32-bytes-long-------!").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"new-secret-32-bytes-long-------!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"someone-else's-secret").decode()
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = b'{"order_id":"O-1","lines":[]}'


def headers(signature: str, webhook_id: str = "msg_1", timestamp: int | str = TS) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def signed(
    secret: str = SECRET, webhook_id: str = "msg_1", timestamp: int = TS, body: bytes = BODY
) -> dict[str, str]:
    return headers(sign(secret, webhook_id, timestamp, body), webhook_id, timestamp)


def code_of(
    secrets: list[str],
    hs: dict[str, str],
    body: bytes,
    now: datetime,
    tolerance_seconds: int = 300,
) -> str:
    """The error code verify fails with (it must fail)."""
    with pytest.raises(SignatureError) as info:
        verify(secrets, hs, body, now, tolerance_seconds)
    return info.value.code


def test_valid_signature_returns_webhook_id() -> None:
    assert verify([SECRET], signed(webhook_id="msg_abc"), BODY, NOW) == "msg_abc"


def test_signature_format_is_v1_base64_of_sha256() -> None:
    version, _, value = sign(SECRET, "msg_1", TS, BODY).partition(",")
    assert version == "v1"
    assert len(base64.b64decode(value, validate=True)) == 32


def test_wrong_secret_is_rejected() -> None:
    assert code_of([SECRET], signed(OTHER_SECRET), BODY, NOW) == "WEBHOOK_SIGNATURE_INVALID"


def test_rotation_accepts_message_signed_with_old_secret() -> None:
    assert verify([NEW_SECRET, SECRET], signed(SECRET), BODY, NOW) == "msg_1"
    assert verify([NEW_SECRET, SECRET], signed(NEW_SECRET), BODY, NOW) == "msg_1"
    # once the old secret is dropped, its signatures no longer pass
    assert code_of([NEW_SECRET], signed(SECRET), BODY, NOW) == "WEBHOOK_SIGNATURE_INVALID"


def test_no_secrets_accepts_nothing() -> None:
    assert code_of([], signed(), BODY, NOW) == "WEBHOOK_SIGNATURE_INVALID"


def test_several_signatures_in_header_one_matching_is_accepted() -> None:
    good = sign(SECRET, "msg_1", TS, BODY)
    bad = sign(OTHER_SECRET, "msg_1", TS, BODY)
    assert verify([SECRET], headers(f"{bad} {good}"), BODY, NOW) == "msg_1"
    assert verify([SECRET], headers(f"{good} {bad}"), BODY, NOW) == "msg_1"
    assert code_of([SECRET], headers(f"{bad} {bad}"), BODY, NOW) == "WEBHOOK_SIGNATURE_INVALID"


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86_400])
def test_timestamp_beyond_tolerance_is_rejected(offset: int) -> None:
    stamp = TS + offset
    assert (
        code_of([SECRET], signed(timestamp=stamp), BODY, NOW)
        == "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"
    )


@pytest.mark.parametrize("offset", [-300, -299, 0, 299, 300])
def test_timestamp_within_tolerance_is_accepted(offset: int) -> None:
    assert verify([SECRET], signed(timestamp=TS + offset), BODY, NOW) == "msg_1"


def test_tolerance_is_configurable() -> None:
    stale = signed(timestamp=TS - 60)
    assert verify([SECRET], stale, BODY, NOW, tolerance_seconds=60) == "msg_1"
    assert code_of([SECRET], stale, BODY, NOW, 59) == "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"


def test_timestamp_is_checked_before_signature() -> None:
    """A replayed message, validly signed long ago, fails on its age."""
    old = signed(timestamp=TS - 7200)
    assert code_of([SECRET], old, BODY, NOW) == "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"


@pytest.mark.parametrize("stamp", ["soon", "1.7e9", f"{TS}.5", "", "0x10"])
def test_non_integer_timestamp_is_rejected(stamp: str) -> None:
    sig = sign(SECRET, "msg_1", TS, BODY)
    expected = "WEBHOOK_HEADERS_MISSING" if stamp == "" else "WEBHOOK_TIMESTAMP_INVALID"
    assert code_of([SECRET], headers(sig, timestamp=stamp), BODY, NOW) == expected


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_rejected(missing: str) -> None:
    hs = signed()
    del hs[missing]
    assert code_of([SECRET], hs, BODY, NOW) == "WEBHOOK_HEADERS_MISSING"
    hs[missing] = "   "
    assert code_of([SECRET], hs, BODY, NOW) == "WEBHOOK_HEADERS_MISSING"


def test_overlong_webhook_id_is_rejected() -> None:
    long_id = "m" * 201
    assert code_of([SECRET], signed(webhook_id=long_id), BODY, NOW) == "WEBHOOK_ID_INVALID"


def test_tampered_body_is_rejected() -> None:
    hs = signed()
    tampered = BODY.replace(b"O-1", b"O-2")
    assert code_of([SECRET], hs, tampered, NOW) == "WEBHOOK_SIGNATURE_INVALID"
    assert code_of([SECRET], hs, BODY + b" ", NOW) == "WEBHOOK_SIGNATURE_INVALID"


def test_signature_binds_id_and_timestamp() -> None:
    sig = sign(SECRET, "msg_1", TS, BODY)
    assert code_of([SECRET], headers(sig, "msg_2"), BODY, NOW) == "WEBHOOK_SIGNATURE_INVALID"
    other_ts = headers(sig, timestamp=TS + 1)
    assert code_of([SECRET], other_ts, BODY, NOW) == "WEBHOOK_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    "garbage",
    [
        "nocomma",
        "v1,",
        "v1,!!!not-base64!!!",
        "v1,abc",  # bad padding
        ",AAAA",
        "v2,{valid}",  # right bytes, unknown version
        "v1a,{valid}",
        "v1,{valid}x",
        "v1 {valid}",
        "\x00\x01",
    ],
)
def test_garbage_signature_entries_are_rejected_without_crashing(garbage: str) -> None:
    valid = sign(SECRET, "msg_1", TS, BODY).partition(",")[2]
    entry = garbage.replace("{valid}", valid)
    assert code_of([SECRET], headers(entry), BODY, NOW) == "WEBHOOK_SIGNATURE_INVALID"


def test_garbage_entries_next_to_a_valid_one_do_not_hide_it() -> None:
    good = sign(SECRET, "msg_1", TS, BODY)
    assert verify([SECRET], headers(f"nocomma v1,!!! v2,xx {good}"), BODY, NOW) == "msg_1"


def test_decode_secret() -> None:
    assert decode_secret("whsec_" + base64.b64encode(b"key").decode()) == b"key"
    assert decode_secret(base64.b64encode(b"key").decode()) == b"key"  # prefix optional
    assert decode_secret("whsec_a2V5cw") == b"keys"  # unpadded base64 accepted
    with pytest.raises(ValueError):
        decode_secret("whsec_!!!")
    with pytest.raises(ValueError):
        decode_secret("whsec_")


# --------------------------------------------------------------------------- interoperability


def test_official_library_signature_verifies_with_ours() -> None:
    theirs = Webhook(SECRET).sign("msg_lib", NOW, BODY.decode())
    assert verify([SECRET], headers(theirs, "msg_lib"), BODY, NOW) == "msg_lib"


def test_official_library_accepts_our_signature() -> None:
    # the library reads the wall clock, so sign with the real current time
    now = int(time.time())
    ours = sign(SECRET, "msg_ours", now, BODY)
    hs = headers(ours, "msg_ours", now)
    assert Webhook(SECRET).verify(BODY, hs) == {"order_id": "O-1", "lines": []}


def test_official_library_and_ours_produce_identical_signatures() -> None:
    body = '{"note":"grüße ✓"}'
    theirs = Webhook(NEW_SECRET).sign("msg_x", NOW, body)
    assert sign(NEW_SECRET, "msg_x", TS, body.encode()) == theirs


# --------------------------------------------------------------------------- properties

ids = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
    max_size=200,
)


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=512), webhook_id=ids, skew=st.integers(-300, 300))
def test_sign_then_verify_succeeds(body: bytes, webhook_id: str, skew: int) -> None:
    hs = signed(webhook_id=webhook_id, timestamp=TS + skew, body=body)
    assert verify([NEW_SECRET, SECRET], hs, body, NOW) == webhook_id


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_flipping_any_body_byte_fails(body: bytes, data: st.DataObject) -> None:
    hs = signed(body=body)
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    flip = data.draw(st.integers(1, 255), label="xor")
    tampered = bytearray(body)
    tampered[index] ^= flip
    assert code_of([SECRET], hs, bytes(tampered), NOW) == "WEBHOOK_SIGNATURE_INVALID"


def test_now_is_used_not_the_wall_clock() -> None:
    later = NOW + timedelta(days=365)
    hs = signed(timestamp=int(later.timestamp()))
    assert verify([SECRET], hs, BODY, later) == "msg_1"
    assert code_of([SECRET], hs, BODY, NOW) == "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"
