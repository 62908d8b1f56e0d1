"""Sign-in links on the portal's real database: a link signs in once, for its own area, and
every link that signs nobody in is refused with its stable code (and the page's status)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.portal.adapters import store
from services.portal.bootstrap import PORTAL_SIGN_IN
from services.portal.domain.records import Member
from services.portal.domain.sign_in import token_hash
from services.portal.entrypoints.desk_pages import DESK_SIGN_IN
from services.portal.entrypoints.web import refusal_status
from services.portal.handlers import sessions
from services.portal.handlers.sign_in import LinkRefused, check_link, consume_link
from services.runtime.service import Runtime

CAROL = "carol@customer.example"
DAY = timedelta(hours=12)


async def _links(portal: Runtime, **valid_for: timedelta) -> None:
    """Links for Carol, each token valid for its given time from now (negative: expired)."""
    now = portal.clock.now()
    async with portal.transaction() as ctx:
        await store.remember_members(ctx.conn, [Member(CAROL, "acme", "Acme", False, now)])
        for token, lifetime in valid_for.items():
            expires = now + lifetime
            await store.store_token(
                ctx.conn, token_hash(token), CAROL, "portal", "/licenses", now, expires
            )


async def _refusal_of(portal: Runtime, token: str) -> str:
    with pytest.raises(LinkRefused) as refused:
        await check_link(portal, token)
    return refused.value.code


async def test_a_link_signs_in_once_then_tells_it_was_used(portal: Runtime) -> None:
    await _links(portal, fresh=timedelta(minutes=15), old=timedelta(minutes=-1))
    await check_link(portal, "fresh")  # would sign in: no refusal
    made = await consume_link(portal, PORTAL_SIGN_IN, "fresh", None, DAY, sessions.only_account)
    assert (made.email, made.area, made.role, made.next_path) == (
        CAROL,
        "portal",
        "customer",
        "/licenses",
    )
    live = await sessions.resume(portal.pool, made.cookie_value, portal.clock.now(), DAY)
    assert live is not None and (live.email, live.account_id) == (CAROL, "acme")

    codes = [await _refusal_of(portal, t) for t in ("fresh", "old", "", "never-issued")]
    assert codes == [
        "SIGN_IN_LINK_USED",
        "SIGN_IN_LINK_EXPIRED",
        "SIGN_IN_LINK_INVALID",
        "SIGN_IN_LINK_INVALID",
    ]
    assert [refusal_status(c) for c in codes] == [410, 410, 404, 404]
    with pytest.raises(LinkRefused, match="already used"):
        await consume_link(portal, PORTAL_SIGN_IN, "fresh", None, DAY, sessions.only_account)

    await sessions.end(portal.pool, made.cookie_value)
    assert await sessions.resume(portal.pool, made.cookie_value, portal.clock.now(), DAY) is None


async def test_a_portal_link_does_not_open_the_desk(portal: Runtime) -> None:
    await _links(portal, portal_only=timedelta(minutes=15))
    with pytest.raises(LinkRefused) as refused:
        await consume_link(portal, DESK_SIGN_IN, "portal_only", None, DAY, sessions.only_account)
    assert refused.value.code == "SIGN_IN_LINK_INVALID"
    await check_link(portal, "portal_only")  # still unused for the portal
