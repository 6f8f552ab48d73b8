"""compare_speed (grader.judging.speed): medians per call, and the early stop when no round could change the verdict."""

from __future__ import annotations

import pytest

from grader.judging.speed import compare_speed


class FakeRunner:
    """Answers every timed request with the next of `seconds` (per request of `count` calls)."""

    def __init__(self, seconds: list[float], baseline: FakeRunner | None = None):
        self.seconds, self.calls, self.baseline = list(seconds), 0, baseline

    def clean(self) -> FakeRunner:
        return self.baseline

    def prepare(self, fn, *args) -> None:
        return None

    def go(self, which, flat_index):
        self.calls += 1
        return [{}], self.seconds.pop(0)


def _time(sub_seconds: list[float], base_seconds: list[float], limit: float | None) -> tuple[dict, int, int]:
    base = FakeRunner(base_seconds)
    sub = FakeRunner(sub_seconds, base)
    times = compare_speed(sub, probe=None, baseline=None, device="cpu", repeats=2, baseline_repeats=2, numel=8,
                          verify=lambda *a: None, slowdown_limit=limit)
    return times, sub.calls, base.calls


@pytest.mark.parametrize("ratio", [100.0, 0.01])
def test_a_verdict_far_from_its_threshold_stops_after_two_timed_rounds(ratio):
    times, sub_calls, base_calls = _time([ratio] * 6, [1.0] * 6, limit=10.0 if ratio > 1 else 1.0)
    assert (sub_calls, base_calls) == (3, 3)  # one warm-up round, two timed rounds
    assert times == {"submission": ratio / 2, "baseline": 0.5}


@pytest.mark.parametrize("limit", [None, 10.0])
def test_a_close_verdict_or_no_limit_gets_every_round(limit):
    times, sub_calls, base_calls = _time([5.0, 5.0, 40.0, 5.0, 6.0, 7.0], [1.0] * 6, limit=limit)
    assert (sub_calls, base_calls) == (6, 6)
    assert times["submission"] == 3.0  # median of 2.5, 20, 2.5, 3, 3.5 (the warm-up round is not counted)


def test_one_round_on_the_other_side_keeps_timing():
    _, sub_calls, _ = _time([1.0, 1.0, 100.0, 100.0, 100.0, 100.0], [1.0] * 6, limit=10.0)
    assert sub_calls == 6  # the first timed round (1x) was on the passing side: never all clear
