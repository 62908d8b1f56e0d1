"""Signed license keys: issue, verify, tamper, rotate."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.licensing.domain.keys import (
    InvalidKey,
    KeyClaims,
    KeyRing,
    b64url,
    generate_private_key,
)

ISSUED_AT = datetime(2026, 11, 21, 10, 0, 7, tzinfo=UTC)
RING_A = KeyRing(generate_private_key(), "k1")
KEY = RING_A.issue("lic-1", "backup-pro", "server", ISSUED_AT)
B64URL = string.ascii_letters + string.digits + "-_"


def test_issue_then_verify_returns_claims() -> None:
    assert RING_A.verify_key(KEY) == KeyClaims(
        license_id="lic-1",
        product="backup-pro",
        edition="server",
        issued_at=ISSUED_AT,
        key_id="k1",
    )


def test_key_is_payload_dot_signature_in_base64url() -> None:
    payload, signature = KEY.split(".")
    assert set(payload + signature) <= set(B64URL)
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64  # Ed25519


def test_surrounding_whitespace_is_tolerated() -> None:
    assert RING_A.verify_key(f"  {KEY}\n").license_id == "lic-1"


def test_same_ring_verifies_across_instances_with_same_private_key() -> None:
    private = generate_private_key()
    key = KeyRing(private, "k9").issue("lic-2", "p", "e", ISSUED_AT)
    assert KeyRing(private, "k9").verify_key(key).license_id == "lic-2"


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_changing_any_character_makes_key_invalid(data: st.DataObject) -> None:
    """Every character counts, including the last of each part, whose low bits base64
    leaves unused: one key has exactly one valid spelling."""
    dot = KEY.index(".")
    edges = [0, dot - 1, dot, dot + 1, len(KEY) - 1]  # where base64 has unused bits
    index = data.draw(st.sampled_from(edges) | st.integers(0, len(KEY) - 1), label="index")
    replacement = data.draw(
        st.sampled_from(B64URL + ".=+/!~ ").filter(lambda c: c != KEY[index]),
        label="replacement",
    )
    altered = KEY[:index] + replacement + KEY[index + 1 :]
    with pytest.raises(InvalidKey):
        RING_A.verify_key(altered)


@pytest.mark.parametrize("part", [0, 1])
def test_changing_last_character_of_a_part_is_invalid(part: int) -> None:
    pieces = KEY.split(".")
    last = pieces[part][-1]
    for c in B64URL:
        if c == last:
            continue
        altered = list(pieces)
        altered[part] = pieces[part][:-1] + c
        with pytest.raises(InvalidKey):
            RING_A.verify_key(".".join(altered))


def test_padding_or_inserted_junk_is_invalid() -> None:
    payload, signature = KEY.split(".")
    for altered in (
        f"{payload}.{signature}==",
        f"{payload}==.{signature}",
        f"{payload}.{signature}!",
        f"{payload[:4]}!{payload[4:]}.{signature}",
        f"{payload}.{signature[:10]}\n{signature[10:]}",
    ):
        with pytest.raises(InvalidKey):
            RING_A.verify_key(altered)


def test_key_signed_by_another_private_key_is_invalid() -> None:
    impostor = KeyRing(generate_private_key(), "k1")  # same kid, different key
    forged = impostor.issue("lic-1", "backup-pro", "server", ISSUED_AT)
    with pytest.raises(InvalidKey):
        RING_A.verify_key(forged)


def test_payload_of_one_key_with_signature_of_another_is_invalid() -> None:
    other = RING_A.issue("lic-2", "backup-pro", "site", ISSUED_AT)
    spliced = KEY.split(".")[0] + "." + other.split(".")[1]
    with pytest.raises(InvalidKey):
        RING_A.verify_key(spliced)


def test_self_made_payload_claiming_a_known_kid_is_invalid() -> None:
    payload = json.dumps({"l": "free", "p": "backup-pro", "e": "site", "t": 0, "k": "k1"})
    signature = KEY.split(".")[1]
    with pytest.raises(InvalidKey):
        RING_A.verify_key(f"{b64url(payload.encode())}.{signature}")


def test_unknown_kid_is_invalid() -> None:
    stranger = KeyRing(generate_private_key(), "k-unknown")
    with pytest.raises(InvalidKey, match="k-unknown"):
        RING_A.verify_key(stranger.issue("lic-1", "p", "e", ISSUED_AT))


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.!!!", "e30.e30", "x" * 2000, "🔑.🔑"],
)
def test_garbage_is_invalid(garbage: str) -> None:
    with pytest.raises(InvalidKey):
        RING_A.verify_key(garbage)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.text(alphabet=B64URL + ".", max_size=300))
def test_arbitrary_text_is_invalid_key(garbage: str) -> None:
    with pytest.raises(InvalidKey):
        RING_A.verify_key(garbage)


# --------------------------------------------------------------------------- rotation


def test_rotation_new_ring_verifies_keys_of_retired_key() -> None:
    ring_b = KeyRing(generate_private_key(), "k2", retired={"k1": RING_A.public_keys()["k1"]})
    claims = ring_b.verify_key(KEY)
    assert claims.key_id == "k1"
    assert claims.license_id == "lic-1"
    # and what B issues now carries k2
    new_key = ring_b.issue("lic-3", "backup-pro", "server", ISSUED_AT)
    assert ring_b.verify_key(new_key).key_id == "k2"
    with pytest.raises(InvalidKey):
        RING_A.verify_key(new_key)  # A does not know k2


def test_ring_without_retired_key_rejects_old_keys() -> None:
    ring_b = KeyRing(generate_private_key(), "k2")
    with pytest.raises(InvalidKey):
        ring_b.verify_key(KEY)


def test_retired_entry_with_wrong_public_key_rejects() -> None:
    wrong = KeyRing(generate_private_key(), "x").public_keys()["x"]
    ring_b = KeyRing(generate_private_key(), "k2", retired={"k1": wrong})
    with pytest.raises(InvalidKey):
        ring_b.verify_key(KEY)


def test_public_keys_exposes_current_and_retired_kids() -> None:
    assert list(RING_A.public_keys()) == ["k1"]
    ring_b = KeyRing(generate_private_key(), "k2", retired={"k1": RING_A.public_keys()["k1"]})
    published = ring_b.public_keys()
    assert set(published) == {"k1", "k2"}
    assert ring_b.key_id == "k2"
    assert published["k1"] == RING_A.public_keys()["k1"]
    assert len(base64.b64decode(published["k2"])) == 32
    assert published["k2"] != published["k1"]


def test_generated_private_keys_differ_and_are_32_bytes() -> None:
    a, b = generate_private_key(), generate_private_key()
    assert a != b
    assert len(base64.b64decode(a)) == 32


def test_a_remembered_key_gives_the_same_claims_and_tampering_still_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("services.licensing.domain.keys.VERIFIED_KEYS_KEPT", 3)
    ring = KeyRing(generate_private_key(), "k1")
    keys = [ring.issue(f"lic-{i}", "backup-pro", "server", ISSUED_AT) for i in range(5)]
    first = [ring.verify_key(k) for k in keys]
    assert [ring.verify_key(k) for k in keys] == first  # again, some from memory
    assert [c.license_id for c in first] == [f"lic-{i}" for i in range(5)]
    assert len(ring._verified) == 3  # bounded
    payload, signature = keys[-1].split(".")
    tampered = f"{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    with pytest.raises(InvalidKey):
        ring.verify_key(tampered)
    with pytest.raises(InvalidKey):
        RING_A.verify_key(keys[0])  # another ring remembers nothing of this one
