"""Sealed values: a sign-in link opens only with the shared key, for its own address."""

from __future__ import annotations

import pytest

from services.runtime.sealed import SealError, new_seal_key, seal, unseal


def test_a_sealed_link_opens_with_the_key_for_its_address() -> None:
    key = new_seal_key()
    sealed = seal(key, "https://portal.example/sign-in/link?token=abc", "It@Acme.example")
    assert "token=abc" not in sealed
    assert unseal(key, sealed, "it@acme.example") == "https://portal.example/sign-in/link?token=abc"


def test_another_key_another_address_or_an_altered_value_does_not_open() -> None:
    key = new_seal_key()
    sealed = seal(key, "secret", "a@example.com")
    altered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    for attempt in (
        lambda: unseal(new_seal_key(), sealed, "a@example.com"),
        lambda: unseal(key, sealed, "b@example.com"),
        lambda: unseal(key, altered, "a@example.com"),
        lambda: unseal(key, "not base64 at all!", "a@example.com"),
    ):
        with pytest.raises(SealError):
            attempt()
