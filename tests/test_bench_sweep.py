"""The live benchmark's sweep finds the highest camera count that holds, not only powers of two."""

from __future__ import annotations

import pytest

from hallmonitor.stream_bench import highest_held, next_count


def sweep(start: int, capacity: int) -> tuple[list[int], int]:
    """Drive the sweep against a machine that holds up to ``capacity`` cameras."""
    held: dict[int, bool] = {}
    tried, n = [], start
    while n is not None:
        tried.append(n)
        held[n] = n <= capacity
        n = next_count(held)
    return tried, highest_held(held)


@pytest.mark.parametrize("start, capacity, tried, best", [
    (4, 5, [4, 8, 6, 5], 5),
    (4, 7, [4, 8, 6, 7], 7),
    (4, 13, [4, 8, 12, 16, 14, 13], 13),
    (4, 4, [4, 8, 6, 5], 4),
    (4, 2, [4, 2, 3], 2),
    (4, 0, [4, 2, 1], 0),
])
def test_the_sweep_bisects_to_the_highest_count(start, capacity, tried, best):
    assert sweep(start, capacity) == (tried, best)


def test_a_count_that_held_above_a_miss_is_noise_not_the_answer():
    assert highest_held({4: True, 6: False, 8: True}) == 4
