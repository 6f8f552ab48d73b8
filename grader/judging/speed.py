"""Speed judged on the judge's clock (judge side).

The submission and a naive baseline each run in their own process: the submission's sealed child, and a
clean child that never loaded the submission (so patching torch there cannot slow the baseline down). For
every timed round the judge draws fresh seeds, has the probe build those inputs (untimed), then times one
request that runs the code on all of them and returns sampled values of one output, picked at random after
the inputs were built. The judge checks those values against the oracle: a cached, lazy or wrong answer
cannot buy speed. Rounds alternate between the two processes so that machine noise hits both alike.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

import torch

from grader.engine.checks import Fail

SAMPLES = 64  # output values checked per timed round
CLEAR = 3.0  # every timed round this far past the threshold, on the same side: the verdict cannot change
MIN_ROUNDS = 2  # timed rounds before timing may stop early


def compare_speed(sub: Any, *, probe: Callable[..., Any], baseline: Callable[..., Any], device: str,
                  repeats: int, baseline_repeats: int, numel: int,
                  verify: Callable[[Any, int, torch.Tensor, list[dict]], None],
                  rounds: int = 5, args: tuple = (), slowdown_limit: float | None = None) -> dict[str, float]:
    """Median seconds per call of the submission (`probe`) and of `baseline`, timed in this process.

    `slowdown_limit` is the check's threshold as the largest passing submission/baseline time ratio (1 / N
    for "N times faster"). When every timed round so far (at least MIN_ROUNDS) is CLEAR times past it on the
    same side, the remaining rounds are skipped: a loop 100x over a 10x limit is not timed five times, and
    a reference far inside it is not either. Anything closer gets all `rounds`.

    The probes are called as `probe(sub, *args, seeds, device)`.
    `verify(info, seed, flat_index, picks)` raises Fail when the sampled values of the output built from
    `seed` are wrong; `info` is what the probe's preparation returned (e.g. the module's weights).
    """
    clean = sub.clean()
    rng = random.SystemRandom()
    times: dict[str, list[float]] = {"submission": [], "baseline": []}
    for round_ in range(rounds + 1):  # round 0 warms both up (allocator, caches, lazy initialisation)
        for role, runner, fn, count in (("submission", sub, probe, repeats),
                                        ("baseline", clean, baseline, baseline_repeats)):
            seeds = [rng.randrange(1 << 31) for _ in range(count)]
            info = runner.prepare(fn, *args, seeds, device)
            which = rng.randrange(count)
            flat_index = torch.tensor(sorted(rng.sample(range(numel), min(SAMPLES, numel))), dtype=torch.int64)
            picks, seconds = runner.go([which], flat_index)
            if role == "submission":
                if not isinstance(picks, list) or len(picks) != 1 or not isinstance(picks[0], dict):
                    raise Fail("speed not judged: the timed run did not return the output it was asked for")
                verify(info, seeds[which], flat_index, picks)
            if round_:
                times[role].append(seconds / count)
        if slowdown_limit and round_ >= MIN_ROUNDS and _clear(times, slowdown_limit):
            break
    return {role: statistics.median(values) for role, values in times.items()}


def _clear(times: dict[str, list[float]], slowdown_limit: float) -> bool:
    ratios = [s / b for s, b in zip(times["submission"], times["baseline"]) if b > 0]
    return len(ratios) == len(times["submission"]) and (
        all(r <= slowdown_limit / CLEAR for r in ratios) or all(r >= slowdown_limit * CLEAR for r in ratios))


def expect_sampled(pick: dict, expected: torch.Tensor, flat_index: torch.Tensor, *, what: str,
                   atol: float, rtol: float) -> None:
    """Fail unless a timed output has the expected shape and its sampled values match `expected`."""
    if pick.get("shape") != list(expected.shape):
        raise Fail(f"speed not judged: on the timing inputs {what} returned shape {pick.get('shape')}, "
                   f"expected {list(expected.shape)}; fix the values first")
    want = expected.reshape(-1)[flat_index].double()
    got = pick.get("values")
    if not isinstance(got, torch.Tensor) or got.shape != want.shape or \
            not torch.allclose(got.double(), want, atol=atol, rtol=rtol):
        raise Fail(f"speed not judged: {what} gives wrong values on the timing inputs; fix the values first")
