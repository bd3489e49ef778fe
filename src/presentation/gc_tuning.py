"""Garbage-collector settings for a serving process (measured with `make bench`).

Reference counting frees almost everything a request allocates; the cycle collector is only
needed for reference cycles, and each Tarantool call leaves one: asynctnt links the call's
future, response and request to each other (six small objects, freed only by the collector).

CPython starts a young collection after every 700 (net) new container objects. With batch
requests in flight thousands of young objects are alive at any moment, so collections came
often and each re-scanned all of them: a tenth of the CPU of read1000 went to the collector.
A larger threshold alone is no cure: the cycles then pile up between collections, and
freeing 100,000 of them at once stalled the event loop (read10's p99 went to 100 ms).

So collections run on a timer instead: a young one every COLLECT_EVERY seconds (a few
milliseconds of work at most: the cycles of 0.1 s of requests and whatever is in flight),
an older one every tenth and a full one every hundredth time, as CPython's own ratios have
it. The count threshold stays as a safety net for bursts. The start-up heap (~60,000
objects that live as long as the process) is frozen out of every collection.
"""

import gc

from kv_api.presentation.housekeeping import Task

FIRST_GENERATION_THRESHOLD = 100_000
OLDER_GENERATION_THRESHOLDS = (10, 10)
COLLECT_EVERY = 0.1


def tune_for_serving() -> None:
    """Call once the app is started: everything alive now lives as long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, *OLDER_GENERATION_THRESHOLDS)


class TimedCollection:
    """One tick of the timer: a young collection, an older one every tenth tick and a full
    one every hundredth, as CPython's own ratios have it."""

    def __init__(self) -> None:
        self.ticks = 0

    async def __call__(self) -> None:
        self.ticks += 1
        gc.collect(2 if self.ticks % 100 == 0 else 1 if self.ticks % 10 == 0 else 0)


def timed_collection() -> Task:
    """The collections on a timer, as a housekeeping task of the serving process."""
    return Task("timed garbage collection", COLLECT_EVERY, TimedCollection())
