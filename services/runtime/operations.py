"""Operations over HTTP, on every service: its dead letters (list, show, replay) and its
consumer group's lag. The same functions back `entitle dlt` and `entitle topics`; the support
desk's admin pages call these routes with an admin's staff token."""

from __future__ import annotations

from typing import Annotated, Any, get_type_hints

from aiokafka import AIOKafkaConsumer
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field, create_model

from . import kafka
from .auth import Principal
from .dead_letters import DeadLetter, list_dead_letters, replay, show_dead_letter, shown
from .errors import ApiError
from .http import RuntimeDep, errors, require
from .lag import partition_lags
from .service import Runtime

router = APIRouter(tags=["operations"])
Reader = Annotated[Principal, Depends(require("operations:read"))]
Writer = Annotated[Principal, Depends(require("operations:write"))]


class DeadLetterList(BaseModel):
    service: str
    items: list[DeadLetter]


# The detail is the dead letter's fields with the original record's headers and value.
DeadLetterDetail = create_model(
    "DeadLetterDetail",
    **{name: (kind, ...) for name, kind in get_type_hints(DeadLetter).items()},  # type: ignore[call-overload]
    headers=(dict[str, str], ...),
    value=(Any, Field(description="The original record's value: JSON when it parses.")),
)


class ReplayRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        default=None, max_length=1000, description="Dead letters to replay; null: all pending."
    )


class Replayed(BaseModel):
    replayed: list[int]


class PartitionLag(BaseModel):
    topic: str
    partition: int
    end: int
    committed: int | None
    lag: int


class ConsumerLag(BaseModel):
    service: str
    group: str
    total: int
    partitions: list[PartitionLag]


@router.get(
    "/dead-letters",
    response_model=DeadLetterList,
    summary="This service's dead letters (pending ones, or all)",
    responses=errors(401, 403),
)
async def dead_letters(
    runtime: RuntimeDep, _: Reader, include_replayed: bool = False
) -> dict[str, Any]:
    letters = await list_dead_letters(runtime.pool, include_replayed)
    return {"service": runtime.name, "items": letters}


@router.get(
    "/dead-letters/{dead_letter_id}",
    response_model=DeadLetterDetail,
    summary="One dead letter with the original record's headers and value",
    responses=errors(401, 403, 404),
)
async def dead_letter(
    dead_letter_id: Annotated[int, Path(ge=1, le=2**62)], runtime: RuntimeDep, _: Reader
) -> dict[str, Any]:
    found = await show_dead_letter(runtime.pool, dead_letter_id)
    if found is None:
        raise ApiError(404, "DEAD_LETTER_NOT_FOUND", f"no dead letter {dead_letter_id}")
    return shown(*found)


@router.post(
    "/dead-letters/replay",
    response_model=Replayed,
    summary="Publish dead letters to their original topic again, each once",
    responses=errors(401, 403),
)
async def replay_dead_letters(
    runtime: RuntimeDep, _: Writer, body: ReplayRequest | None = None
) -> dict[str, Any]:
    producer = kafka.create_producer(runtime.settings)
    await producer.start()
    try:
        done = await replay(
            runtime.pool,
            producer,
            ids=body.ids if body else None,
            topic_prefix=runtime.settings.kafka_topic_prefix,
            now=runtime.clock.now(),
        )
    finally:
        await producer.stop()
    return {"replayed": done}


async def group_lag(runtime: Runtime) -> dict[str, Any]:
    """The service's consumer group: records not processed yet, per partition."""
    s = runtime.settings
    topics = sorted(s.kafka_topic_prefix + t for t in runtime.definition.subscriptions.topics)
    reader = AIOKafkaConsumer(**kafka.connection(s), group_id=s.consumer_group)
    await reader.start()
    try:
        lags = await partition_lags(reader, topics) if topics else []
    finally:
        await reader.stop()
    rows = [
        {
            "topic": p.partition.topic,
            "partition": p.partition.partition,
            "end": p.end,
            "committed": p.committed,
            "lag": p.lag,
        }
        for p in lags
    ]
    return {
        "service": runtime.name,
        "group": s.consumer_group,
        "total": sum(r["lag"] for r in rows),
        "partitions": rows,
    }


@router.get(
    "/consumer-lag",
    response_model=ConsumerLag,
    summary="Records this service's consumer group has not processed yet, per partition",
    responses=errors(401, 403),
)
async def consumer_lag(runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    return await group_lag(runtime)
