"""The runner of the app's timed work: each task on its interval, failures kept to the task,
and every task stopped with the app even when one swallows its cancel (Python 3.11's
wait_for can): the app's cleanup must never wait on housekeeping."""

import asyncio
import contextlib

from kv_api.presentation.housekeeping import Housekeeping, Task


async def _run(runner: Housekeeping, seconds: float) -> None:
    context = runner.context(None)  # type: ignore[arg-type]
    await context.__anext__()
    await asyncio.sleep(seconds)
    with contextlib.suppress(StopAsyncIteration):
        await asyncio.wait_for(context.__anext__(), 2.0)


async def test_tasks_run_on_their_interval_and_a_failure_does_not_stop_them() -> None:
    runs = {"steady": 0, "failing": 0, "first": 0}

    async def steady() -> None:
        runs["steady"] += 1

    async def failing() -> None:
        runs["failing"] += 1
        raise ConnectionError("storage is down")

    async def first() -> None:
        runs["first"] += 1

    await _run(
        Housekeeping(
            [
                Task("steady", 0.05, steady),
                Task("failing", 0.05, failing),
                Task("first", 10.0, first, at_start=True),
            ]
        ),
        0.3,
    )
    assert runs["steady"] >= 3 and runs["failing"] >= 3
    assert runs["first"] == 1  # at start, and not again within its interval


async def test_the_runner_stops_even_when_a_task_swallows_the_cancel() -> None:
    entered = asyncio.Event()

    async def swallows() -> None:
        entered.set()
        with contextlib.suppress(asyncio.CancelledError):  # as a racing wait_for can do
            await asyncio.sleep(0.2)

    runner = Housekeeping([Task("swallows", 0.01, swallows, at_start=True)])
    context = runner.context(None)  # type: ignore[arg-type]
    await context.__anext__()
    await asyncio.wait_for(entered.wait(), 5)  # the task is inside its first run

    async def cleanup() -> None:
        with contextlib.suppress(StopAsyncIteration):
            await context.__anext__()

    task = asyncio.create_task(cleanup())
    done, _ = await asyncio.wait({task}, timeout=2.0)
    task.cancel()
    assert task in done, "the app's cleanup waited on a housekeeping task"
