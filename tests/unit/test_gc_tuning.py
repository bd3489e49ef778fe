import gc

import pytest

from kv_api.presentation import gc_tuning


async def test_collections_on_the_timer_follow_cpythons_generation_ratios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generations: list[int] = []

    def collect(generation: int = 2) -> int:
        generations.append(generation)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    tick = gc_tuning.TimedCollection()
    for _ in range(200):
        await tick()
    assert generations[:200].count(2) == 2
    assert generations[:200].count(1) == 18
    assert generations[9] == 1 and generations[99] == 2 and generations[199] == 2
    assert set(generations[:9]) == {0}


def test_serving_settings_freeze_the_start_up_heap() -> None:
    before = gc.get_threshold()
    try:
        gc_tuning.tune_for_serving()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (
            gc_tuning.FIRST_GENERATION_THRESHOLD,
            *gc_tuning.OLDER_GENERATION_THRESHOLDS,
        )
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
