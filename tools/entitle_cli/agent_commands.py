"""`entitle agents`: the support desk's accounts (agents and admins), in the portal's
database, as an admin creates them before anyone can sign in to the desk."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.table import Table

from services.runtime import db

from .connect import console, definition_or_exit, use_dev_stack_environment

app = typer.Typer(help="Support desk accounts: agents and admins.", no_args_is_help=True)
T = TypeVar("T")
Email = Annotated[str, typer.Argument(help="The person's email address.")]


def _with_portal(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run `work` on the portal's database, created and migrated first if needed."""
    use_dev_stack_environment()
    definition = definition_or_exit("portal", "cannot be used")
    s = definition.settings

    async def run() -> T:
        await db.ensure_database(s.database_url, s.database_name)
        pool = await db.create_pool(db.with_database(s.database_url, s.database_name), 2)
        try:
            await db.migrate(pool, db.RUNTIME_MIGRATIONS, definition.migrations)
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


DEMO_DESK_ADMIN = "desk@entitle.example"


async def seed_demo_admin(database_url: str, database: str = "entitle_portal") -> None:
    """A desk admin for the stack `entitle dev` runs, so the desk has someone to sign in as
    (the portal has migrated its database by the time the stack is ready)."""
    from services.portal.adapters.agents import find, upsert

    pool = await db.create_pool(db.with_database(database_url, database), 1)
    try:
        if await find(pool, DEMO_DESK_ADMIN) is None:
            await upsert(pool, DEMO_DESK_ADMIN, "admin", "entitle dev", datetime.now(UTC))
    finally:
        await pool.close()


def _refused(exc: Exception) -> None:
    from services.portal.handlers.agents import AgentRefused

    assert isinstance(exc, AgentRefused)
    console.print(f"[red]{exc.sentence}[/red] ({exc.code})")
    raise typer.Exit(1)


@app.command("add")
def add(
    email: Email,
    role: Annotated[str, typer.Option(help="agent | admin")] = "agent",
    password: Annotated[
        bool, typer.Option("--password", help="Also set a password (asked for, not echoed).")
    ] = False,
) -> None:
    """Create a desk account, or give an existing one this role (and enable it again)."""
    from services.portal.handlers import agents

    secret = (
        typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )

    async def work(pool: asyncpg.Pool) -> str:
        add = agents.AddAgent(email, role, "entitle agents add")
        agent = await agents.add_agent(pool, add, datetime.now(UTC))
        if secret is not None:
            await agents.set_password(pool, agents.SetPassword(agent.email, secret))
        return f"{agent.email} is a desk {agent.role}" + (" with a password" if secret else "")

    try:
        console.print(_with_portal(work))
    except agents.AgentRefused as exc:
        _refused(exc)


@app.command("password")
def password(email: Email) -> None:
    """Set a desk account's password (asked for, not echoed)."""
    from services.portal.handlers import agents

    secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(pool: asyncpg.Pool) -> None:
        await agents.set_password(pool, agents.SetPassword(email, secret))

    try:
        _with_portal(work)
    except agents.AgentRefused as exc:
        _refused(exc)
    console.print(f"password set for {email}")


@app.command("disable")
def disable(email: Email) -> None:
    """Disable a desk account: it cannot sign in, its sessions end (never the last admin)."""
    from services.portal.handlers import agents

    async def work(pool: asyncpg.Pool) -> None:
        disable = agents.DisableAgent(email, "entitle agents disable")
        await agents.disable_agent(pool, disable, datetime.now(UTC))

    try:
        _with_portal(work)
    except agents.AgentRefused as exc:
        _refused(exc)
    console.print(f"{email} is disabled")


@app.command("list")
def list_agents() -> None:
    """Every desk account with its role and state."""
    from services.portal.adapters.agents import all_agents

    found = _with_portal(all_agents)
    table = Table(title="Desk accounts")
    for column in ("email", "role", "password", "created", "state"):
        table.add_column(column)
    for a in found:
        table.add_row(
            a.email,
            a.role,
            "set" if a.has_password else "-",
            f"{a.created_at:%Y-%m-%d} by {a.created_by}",
            "active" if a.active else f"disabled {a.disabled_at:%Y-%m-%d}",
        )
    console.print(table)
