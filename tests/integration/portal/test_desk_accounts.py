"""Desk accounts on the portal's real database: created by an admin, signed in by password
(argon2id) under the sign-in rate limits, disabled with their sessions; never the last admin
and never oneself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from entitle_cli.agent_commands import DEMO_DESK_ADMIN, seed_demo_admin

from services.portal.adapters import agents
from services.portal.bootstrap import sign_in_policy
from services.portal.handlers import agents as desk_accounts
from services.portal.handlers.agents import AgentRefused, SignInFailed
from services.portal.handlers.sessions import session_hash
from services.portal.handlers.sign_in import RateLimited
from services.runtime.service import Runtime

PASSWORD = "correct horse battery staple"
DAY = timedelta(hours=12)


async def test_an_agent_signs_in_with_the_password_and_nothing_else(portal: Runtime) -> None:
    policy = sign_in_policy(portal.settings)
    now = portal.clock.now()
    made = await desk_accounts.add_agent(
        portal.pool, desk_accounts.AddAgent(" Alice@Vendor.Example ", "agent", "ops"), now
    )
    assert (made.email, made.role, made.has_password) == ("alice@vendor.example", "agent", False)
    with pytest.raises(SignInFailed):  # no password yet
        await desk_accounts.password_sign_in(
            portal, policy, made.email, PASSWORD, "10.0.0.1", None, DAY
        )
    with pytest.raises(AgentRefused, match="at least 12"):
        await desk_accounts.set_password(
            portal.pool, desk_accounts.SetPassword(made.email, "short")
        )
    await desk_accounts.set_password(portal.pool, desk_accounts.SetPassword(made.email, PASSWORD))
    stored = await portal.pool.fetchval("select password_hash from desk_agents")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored

    session = await desk_accounts.password_sign_in(
        portal, policy, "ALICE@vendor.example", PASSWORD, "10.0.0.2", None, DAY
    )
    assert (session.area, session.role, session.email) == ("desk", "agent", made.email)
    row = await portal.pool.fetchrow(
        "select area, role, account_id from web_sessions where id_hash = $1",
        session_hash(session.cookie_value),
    )
    assert dict(row) == {"area": "desk", "role": "agent", "account_id": None}
    # The third attempt on the address in the window is the last the limit (3) allows.
    with pytest.raises(SignInFailed):
        await desk_accounts.password_sign_in(
            portal, policy, made.email, "wrong password!", "10.0.0.3", None, DAY
        )
    with pytest.raises(RateLimited):
        await desk_accounts.password_sign_in(
            portal, policy, made.email, PASSWORD, "10.0.0.4", None, DAY
        )
    # An unknown address answers as a wrong password does.
    with pytest.raises(SignInFailed):
        await desk_accounts.password_sign_in(
            portal, policy, "nobody@vendor.example", PASSWORD, "10.0.0.5", None, DAY
        )


async def test_disabling_ends_the_sessions_and_protects_the_last_admin(portal: Runtime) -> None:
    now = portal.clock.now()
    boss = await desk_accounts.add_agent(
        portal.pool, desk_accounts.AddAgent("boss@vendor.example", "admin", "ops"), now
    )
    await desk_accounts.add_agent(
        portal.pool, desk_accounts.AddAgent("bob@vendor.example", "agent", boss.email), now
    )
    await desk_accounts.set_password(
        portal.pool, desk_accounts.SetPassword("bob@vendor.example", PASSWORD)
    )
    policy = sign_in_policy(portal.settings)
    session = await desk_accounts.password_sign_in(
        portal, policy, "bob@vendor.example", PASSWORD, "10.1.0.1", None, DAY
    )
    with pytest.raises(AgentRefused, match="your own account"):
        await desk_accounts.disable_agent(
            portal.pool, desk_accounts.DisableAgent(boss.email, boss.email), now
        )
    with pytest.raises(AgentRefused, match="last admin"):
        await desk_accounts.disable_agent(
            portal.pool, desk_accounts.DisableAgent(boss.email, "ops@vendor.example"), now
        )
    await desk_accounts.disable_agent(
        portal.pool, desk_accounts.DisableAgent("bob@vendor.example", boss.email), now
    )
    assert await desk_accounts.desk_role(portal.pool, "bob@vendor.example") is None
    assert not await portal.pool.fetchval(
        "select count(*) from web_sessions where id_hash = $1", session_hash(session.cookie_value)
    )
    with pytest.raises(SignInFailed):
        await desk_accounts.password_sign_in(
            portal, policy, "bob@vendor.example", PASSWORD, "10.1.0.2", None, DAY
        )
    again = await desk_accounts.add_agent(
        portal.pool, desk_accounts.AddAgent("bob@vendor.example", "admin", boss.email), now
    )
    assert again.active and again.role == "admin"
    listed = await agents.all_agents(portal.pool)
    assert [a.email for a in listed] == ["bob@vendor.example", "boss@vendor.example"]
    with pytest.raises(AgentRefused, match="agent or admin"):
        await desk_accounts.add_agent(
            portal.pool, desk_accounts.AddAgent("x@vendor.example", "owner", boss.email), now
        )


async def test_entitle_dev_seeds_one_demo_admin(portal: Runtime) -> None:
    s = portal.settings
    for _ in range(2):  # every start of the stack: still one account
        await seed_demo_admin(s.database_url, s.database_name)
    (demo,) = await agents.all_agents(portal.pool)
    assert (demo.email, demo.role, demo.active) == (DEMO_DESK_ADMIN, "admin", True)
