"""Same-run speed measurements (child side): median times of several callables, interleaved.

torch.utils.benchmark handles warm-up, a fixed thread count and CUDA synchronisation; rounds of the
candidates alternate so that a burst of machine noise hits all of them alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch
from torch.utils import benchmark


def median_times(candidates: dict[str, Callable[[], object]], *, rounds: int = 5,
                 min_run_time: float = 0.05) -> dict[str, float]:
    """Median seconds per call for each candidate, over `rounds` alternating blocked_autorange runs."""
    threads = torch.get_num_threads()
    timers = {name: benchmark.Timer("fn()", globals={"fn": fn}, num_threads=threads)
              for name, fn in candidates.items()}
    for fn in candidates.values():  # warm-up: allocator, caches, lazy CUDA init
        fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(timer.blocked_autorange(min_run_time=min_run_time).median)
    return {name: statistics.median(times) for name, times in samples.items()}
