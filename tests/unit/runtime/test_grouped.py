"""Group commit: what arrives while a transaction runs shares the next one, and one
command's failure is its own."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.runtime.errors import Refused
from services.runtime.grouped import Grouped


class Store:
    """Applies commands (ints), recording each call's group; 13 breaks any group it is in,
    negative numbers are refused on their own."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.release = asyncio.Event()
        self.failure: Exception | None = None

    async def apply(self, db: str, commands: Sequence[int]) -> list[int | Exception]:
        assert db == "db"
        self.groups.append(list(commands))
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        if 13 in commands:
            raise ValueError("13 breaks the transaction")
        return [c * 10 if c >= 0 else Refused("NEGATIVE", f"{c}") for c in commands]


async def test_commands_arriving_during_a_transaction_share_the_next_one() -> None:
    store = Store()
    group = Grouped(store.apply)
    first = asyncio.create_task(group.submit("db", 1))
    await asyncio.sleep(0)
    later = [asyncio.create_task(group.submit("db", n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    store.release.set()
    assert await asyncio.gather(first, *later) == [10, 20, 30, 40]
    assert store.groups == [[1], [2, 3, 4]]


async def test_a_group_is_at_most_max_batch_commands() -> None:
    store = Store()
    store.release.set()
    group = Grouped(store.apply, max_batch=2)
    assert await asyncio.gather(*(group.submit("db", n) for n in range(5))) == [
        0,
        10,
        20,
        30,
        40,
    ]
    assert store.groups == [[0, 1], [2, 3], [4]]


async def test_a_refusal_is_its_commands_alone() -> None:
    store = Store()
    store.release.set()
    group = Grouped(store.apply)
    outcomes = await asyncio.gather(
        *(group.submit("db", n) for n in (1, -2, 3)), return_exceptions=True
    )
    assert outcomes[0] == 10 and outcomes[2] == 30
    assert isinstance(outcomes[1], Refused) and outcomes[1].code == "NEGATIVE"
    assert store.groups == [[1, -2, 3]]


async def test_a_command_that_breaks_the_transaction_fails_alone_and_the_rest_are_applied() -> None:
    store = Store()
    store.release.set()
    group = Grouped(store.apply)
    outcomes = await asyncio.gather(
        *(group.submit("db", n) for n in (1, 13, 3)), return_exceptions=True
    )
    assert outcomes[0] == 10 and outcomes[2] == 30
    assert isinstance(outcomes[1], ValueError)
    assert store.groups == [[1, 13, 3], [1], [13], [3]]


async def test_a_transient_failure_fails_the_whole_group_without_retrying_each() -> None:
    store = Store()
    store.release.set()
    store.failure = ConnectionResetError("the database went away")
    group = Grouped(store.apply)
    outcomes = await asyncio.gather(
        *(group.submit("db", n) for n in (1, 2)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionResetError) for o in outcomes)
    assert store.groups == [[1, 2]]


async def test_a_cancelled_request_does_not_stop_its_group() -> None:
    store = Store()
    group = Grouped(store.apply)
    gone = asyncio.create_task(group.submit("db", 1))
    kept = asyncio.create_task(group.submit("db", 2))
    await asyncio.sleep(0)
    gone.cancel()
    store.release.set()
    assert await kept == 20
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert store.groups == [[1, 2]]
