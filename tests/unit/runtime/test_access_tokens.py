"""Account-bound access tokens: what the portal mints, every service verifies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.licensing.domain.keys import generate_private_key
from services.runtime.auth import (
    AccessTokenIssuer,
    AccessTokenVerifier,
    ApiKeys,
    public_key_of,
)
from services.runtime.errors import ApiError

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
PRIVATE = generate_private_key()


def issuer(kid: str = "p1", key: str = PRIVATE) -> AccessTokenIssuer:
    return AccessTokenIssuer(kid, key, timedelta(minutes=5))


def keys(at: datetime = NOW) -> ApiKeys:
    return ApiKeys.load(None, None, AccessTokenVerifier({"p1": public_key_of(PRIVATE)}, lambda: at))


def test_a_token_authenticates_as_its_account_with_its_scopes() -> None:
    token = issuer().mint("it@acme.example", "acme", {"licenses:read"}, NOW)
    principal = keys().authenticate(f"Bearer {token}")
    assert principal.account_id == "acme"
    assert principal.allows("licenses:read")
    assert not principal.allows("tickets:write")
    assert principal.may_see("acme") and not principal.may_see("other")


def test_an_expired_token_is_refused() -> None:
    token = issuer().mint("it@acme.example", "acme", {"licenses:read"}, NOW)
    with pytest.raises(ApiError) as refused:
        keys(NOW + timedelta(minutes=5, seconds=1)).authenticate(f"Bearer {token}")
    assert refused.value.code == "ACCESS_TOKEN_EXPIRED"


def test_a_token_of_another_key_or_with_altered_claims_is_refused() -> None:
    foreign = issuer(key=generate_private_key()).mint("x", "acme", {"licenses:read"}, NOW)
    token = issuer().mint("it@acme.example", "acme", {"licenses:read"}, NOW)
    _, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["acct"] = "globex"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for bad in (foreign, f"eat1.{forged_payload}.{signature}", "eat1.garbage", "eat1.a.b"):
        with pytest.raises(ApiError) as refused:
            keys().authenticate(f"Bearer {bad}")
        assert refused.value.code == "INVALID_ACCESS_TOKEN"


def test_a_token_never_carries_unbound_scopes_or_no_account() -> None:
    with pytest.raises(ValueError):
        issuer().mint("x", "acme", {"admin"}, NOW)
    with pytest.raises(ValueError):
        issuer().mint("x", "", {"licenses:read"}, NOW)


def test_a_service_without_the_portal_key_refuses_tokens() -> None:
    token = issuer().mint("it@acme.example", "acme", {"licenses:read"}, NOW)
    with pytest.raises(ApiError) as refused:
        ApiKeys.load(None, None, AccessTokenVerifier({}, lambda: NOW)).authenticate(
            f"Bearer {token}"
        )
    assert refused.value.code == "INVALID_ACCESS_TOKEN"
