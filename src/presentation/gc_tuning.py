"""Garbage-collector settings for a serving process (measured with `make bench`).

The app allocates about 60,000 long-lived objects at start-up; with CPython's default
thresholds (700, 10, 10) every full collection walked them again, and a write of 1,000
nested values, whose parsed body stays alive across several young collections, triggered
full collections over and over: a quarter of the CPU on write1000. Freezing the start-up
heap takes it out of every later collection, and a larger first threshold means fewer
collections for batch requests. Not much larger: a young collection pauses the event loop
for as long as it takes to scan that many objects, and 50,000 gave reads a 30-40 ms p99.
"""

import gc

FIRST_GENERATION_THRESHOLD = 10_000
OLDER_GENERATION_THRESHOLDS = (10, 10)


def tune_for_serving() -> None:
    """Call once the app is started: everything alive now lives as long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, *OLDER_GENERATION_THRESHOLDS)
