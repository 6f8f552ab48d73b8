"""Is lesson 4 graded right? Reference full, stub zero, each mutant loses the check naming its mistake,
correct-but-different implementations full."""

from __future__ import annotations

import pytest

from grader.engine import registry
from tests.conftest import (
    failures,
    lesson_basics,
    row,
)

LESSON = "lesson4"
# Mutants are graded once each, without the speed check (about a second for a loop), except the two loops
# the speed check exists for, which are graded in full.
NOT_SPEED = tuple(sorted({c.name for c in registry.course().lesson(LESSON).checks} - {"speed_vs_loop"}))
SPEED_MUTANTS = ("slicing_loop.py", "unbind_loop.py")


def _graded(graded, name: str):
    return graded(LESSON, name) if name in SPEED_MUTANTS else graded(LESSON, name, checks=NOT_SPEED)


(test_reference_earns_full_marks, test_cuda_rows_are_skipped_not_passed_without_a_gpu,
 test_stub_earns_zero_with_not_implemented_messages) = lesson_basics(LESSON)


@pytest.mark.parametrize("name", ["alt_einsum_nanmean.py", "alt_logical_ops.py"])
def test_correct_but_different_implementation_earns_full_marks(graded, name):
    report = graded(LESSON, name)
    assert not failures(report), failures(report)
    assert report.score == report.max_score


@pytest.mark.parametrize(
    "name, exercise, check, words",
    [
        # row_sum
        ("slicing_loop.py", "row_sum", "speed_vs_loop", ["correct values", "faster than the notes' slicing loop",
                                                          "loops over the rows", "x.sum(dim=0)"]),
        ("unbind_loop.py", "row_sum", "speed_vs_loop",
         ["correct values", "torch.unbind(x)", "one operator call per row"]),
        ("sum_of_each_row.py", "row_sum", "seed_example", ["summed over dim 1", "not over dim 0", "dim=0"]),
        ("sum_of_each_row.py", "row_sum", "other_shapes", ["summed over dim 1"]),
        ("view_accumulator.py", "row_sum", "leaves_input_unchanged", ["changed its input", "work in place", "view"]),
        ("view_accumulator.py", "row_sum", "gradients", ["view of a leaf Variable", "work in place"]),
        ("view_accumulator.py", "row_sum", "empty_rows", ["IndexError", "a sum of nothing is 0"]),
        # masked_mean
        ("and_or.py", "masked_mean", "seed_example", ["ambiguous", "`and`, `or` and `not` cannot be overloaded",
                                                      "(x >= lo) & (x < hi)"]),
        ("chained_comparison.py", "masked_mean", "seed_example", ["chained comparison", "cannot be overloaded"]),
        ("missing_parentheses.py", "masked_mean", "seed_example", ["bitwise_and", "bind tighter than comparisons",
                                                                   "x >= (lo & x) < hi", "parentheses"]),
        ("invert_int_mask.py", "masked_mean", "seed_example", ["`~` ran on an int64 mask", "~1 == -2", "bool"]),
        ("divide_by_length.py", "masked_mean", "seed_example", ["length of the slice", "count of entries in range"]),
        ("zero_for_empty.py", "masked_mean", "empty_slices", ["gave 0", "no entries", "nan"]),
        ("hi_inclusive.py", "masked_mean", "boundaries", ["hi exclusive", "counted the entries equal to hi"]),
        ("int_masks.py", "masked_mean", "bool_masks", ["`&` combined int32 masks", "~1 == -2", "bool"]),
    ],
)
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, exercise, check, words):
    report = _graded(graded, name)
    result = row(report, exercise, check)
    assert result.status in ("failed", "error"), result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    assert report.score < report.max_score


@pytest.mark.parametrize(
    "name, lost",
    [
        ("sum_of_each_row.py", None),
        ("view_accumulator.py", None),
        ("and_or.py", None),
        ("chained_comparison.py", None),
        ("missing_parentheses.py", None),
        ("invert_int_mask.py", None),
        ("divide_by_length.py", None),
        ("zero_for_empty.py", None),
        ("hi_inclusive.py", {"boundaries", "matches_oracle", "gradients", "bool_masks"}),
        ("int_masks.py", {"bool_masks"}),
    ],
)
def test_mutant_costs_only_the_exercise_it_breaks(graded, name, lost):
    """A mistake in one exercise leaves the other exercise's points alone (`lost`: exactly these checks)."""
    report = _graded(graded, name)
    broken = {"row_sum"} if name in ("sum_of_each_row.py", "view_accumulator.py") else {"masked_mean"}
    for r in report.results:
        if r.device != "cpu":
            continue
        if r.exercise not in broken:
            assert r.status == "passed", r
    failed = {r.check for r in report.results if r.device == "cpu" and r.status in ("failed", "error")}
    assert failed
    if lost is not None:
        assert failed == lost, failed


def test_the_loops_fail_only_the_speed_check_or_the_slicing_check(graded):
    """The unbind loop is correct: every check but speed passes. The slicing loop also loses no_slicing_loop."""
    unbind = graded(LESSON, "unbind_loop.py")
    assert {r.check for r in unbind.results if r.status not in ("passed", "skipped")} == {"speed_vs_loop"}
    result = row(graded(LESSON, "slicing_loop.py"), "row_sum", "no_slicing_loop")
    assert result.status == "failed" and "a slice of x per row" in result.message, result
    assert "line 3 of row_sum: `for i in range(x.shape[0]):`" in result.message
    assert row(unbind, "masked_mean", "seed_example").status == "passed"


def test_and_or_is_reported_cleanly_on_every_masked_mean_check(graded):
    report = _graded(graded, "and_or.py")
    rows = [r for r in report.results if r.exercise == "masked_mean" and r.device == "cpu"]
    assert rows and all(r.status == "error" and r.points == 0 for r in rows)
    for r in rows:
        assert "cannot be overloaded" in r.message and "internal grader error" not in r.message, r.message


def test_speed_check_passes_the_loop_free_answers(graded):
    for name in ("reference", "alt_einsum_nanmean.py"):
        result = row(graded(LESSON, name), "row_sum", "speed_vs_loop")
        assert result.status == "passed" and result.measured >= 12, result


def test_self_check_runs_the_public_checks_in_process():
    """The notebook's check(fn) path (InProcessRunner): the reference passes; the and/or mutant is explained."""
    from grader.engine.submission import CodeCell, read_code, run_cells
    from grader.selfcheck import run_public
    from tests.mutants import SUBMISSIONS

    module = run_cells(read_code(registry.course().lesson(LESSON).notebook("solutions"))).module
    for exercise in ("row_sum", "masked_mean"):
        results = run_public(getattr(module, exercise), lesson=LESSON)
        judged = [r for r in results if r.status != "skipped"]
        assert judged and all(r.status == "passed" for r in judged), [r.message for r in judged]
    module = run_cells([CodeCell("mutant", (SUBMISSIONS / LESSON / "missing_parentheses.py").read_text())]).module
    failed = [r for r in run_public(module.masked_mean, lesson=LESSON) if r.status == "error"]
    assert failed and all("bind tighter than comparisons" in r.message for r in failed), failed
