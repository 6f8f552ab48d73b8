"""Is lesson 7 graded right? Reference full, stub zero, each mutant loses the check naming its mistake,
correct-but-different implementations full."""

from __future__ import annotations

import pytest

from grader.engine import registry
from tests.conftest import (
    failures,
    lesson_basics,
    row,
    rows,
)

LESSON = "lesson7"
EXERCISES = ("softmax", "log_softmax", "softmax_cross_entropy", "cross_entropy")
# Mutants are graded without the two speed checks (seconds each, and about none of them); python_loop.py
# is graded on the speed checks alone.
NOT_SPEED = tuple(sorted({c.name for c in registry.course().lesson(LESSON).checks} - {"speed_vs_builtin"}))
SPEED = ("speed_vs_builtin",)


(test_reference_earns_full_marks, test_cuda_rows_are_skipped_not_passed_without_a_gpu,
 test_stub_earns_zero_with_not_implemented_messages) = lesson_basics(LESSON)


@pytest.mark.parametrize("name", ["alt_logsumexp.py", "alt_float32_onehot.py"])
def test_correct_but_different_implementation_earns_full_marks(graded, name):
    report = graded(LESSON, name)
    assert not failures(report)
    assert report.score == report.max_score


@pytest.mark.parametrize(
    "name, exercise, check, words",
    [
        ("unstable_softmax.py", "softmax", "seed_example", ["overflowed", "88.7", "Subtract the largest logit"]),
        ("unstable_softmax.py", "softmax", "half_precision", ["float16", "11.1"]),
        ("log_of_softmax.py", "log_softmax", "seed_example", ["log(softmax(x))", "-inf"]),
        ("log_of_softmax.py", "log_softmax", "extreme_logits", ["log(softmax(x))"]),
        ("unstable_cross_entropy.py", "softmax_cross_entropy", "seed_example", ["got inf", "log(softmax(x))"]),
        ("global_max.py", "softmax", "per_row_max", ["one max over the whole tensor", "per-row max"]),
        ("softmax_before_cross_entropy.py", "cross_entropy", "matches_torch",
         ["softmax to the logits before the cross-entropy", "raw logits"]),
        ("wrong_dim_sum.py", "softmax", "non_last_dim", ["sum to 1 along dim 1, not along dim=0"]),
        ("cross_entropy_last_dim.py", "cross_entropy", "non_last_dim", ["classes are on dim 1"]),
        # issue 9: a [N] - [N, 1] broadcast whose [N, N] mean equals the right loss
        ("nxn_broadcast.py", "cross_entropy", "no_quadratic_intermediate", ["[512, 512]", "[N, N]"]),
        # issue 9 #4: averaged over the wrong dim is not "one loss per example"
        ("mean_over_classes.py", "cross_entropy", "matches_torch", ["One loss per example would be"]),
        ("reduce_max.py", "softmax", "seed_example", ["AttributeError", "reduce_max does not exist in PyTorch"]),
        ("clamp_log.py", "softmax_cross_entropy", "seed_example", ["got 13.8155", "clamp"]),
        ("clamp_log.py", "softmax_cross_entropy", "extreme_gradients", ["gradient", "exactly 0", "clamp"]),
        ("added_back.py", "log_softmax", "extreme_logits", ["sums to 10", "lost in rounding"]),
        # issue 9 #6: the notes' x - logsumexp(x, dim) without keepdim: [N, C] - [N] does not broadcast
        ("logsumexp_no_keepdim.py", "log_softmax", "seed_example",
         ["raised RuntimeError", "must match the size of tensor b"]),
        ("uses_builtins.py", "softmax", "allowed_builtins", ["torch.softmax", "forbids"]),
        ("uses_builtins.py", "log_softmax", "allowed_builtins", ["logits.log_softmax(dim)", "forbids"]),
        ("uses_builtins.py", "softmax_cross_entropy", "allowed_builtins", ["F.log_softmax"]),
        ("uses_builtins.py", "cross_entropy", "allowed_builtins", ["CrossEntropyLoss", "forbids"]),
        ("python_loop.py", "softmax_cross_entropy", "speed_vs_builtin", ["the time of F.cross_entropy", "Python loop"]),
        ("python_loop.py", "cross_entropy", "speed_vs_builtin", ["the time of F.cross_entropy", "Python loop"]),
    ],
)
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, exercise, check, words):
    report = graded(LESSON, name, checks=SPEED if check == "speed_vs_builtin" else NOT_SPEED)
    result = row(report, exercise, check)
    assert result.status in ("failed", "error"), result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    assert report.score < report.max_score


@pytest.mark.parametrize(
    "name, broken",
    [
        ("unstable_softmax.py", {"softmax"}),
        ("global_max.py", {"softmax"}),
        ("wrong_dim_sum.py", {"softmax"}),
        ("reduce_max.py", {"softmax"}),
        ("log_of_softmax.py", {"log_softmax", "softmax_cross_entropy", "cross_entropy"}),  # they call it
        ("added_back.py", {"log_softmax"}),
        ("logsumexp_no_keepdim.py", {"log_softmax", "softmax_cross_entropy", "cross_entropy"}),  # they call it
        ("unstable_cross_entropy.py", {"softmax_cross_entropy"}),
        ("clamp_log.py", {"softmax_cross_entropy"}),
        ("softmax_before_cross_entropy.py", {"cross_entropy"}),
        ("cross_entropy_last_dim.py", {"cross_entropy"}),
        ("uses_builtins.py", set()),
    ],
)
def test_mutant_costs_only_the_exercises_it_breaks(graded, name, broken):
    report = graded(LESSON, name, checks=NOT_SPEED)
    for exercise in EXERCISES:
        lost = [r for r in report.results if r.exercise == exercise and r.status in ("failed", "error")]
        if exercise in broken:
            assert lost, f"{name} should lose points on {exercise}"
        elif name == "uses_builtins.py":
            assert [r.check for r in lost] == ["allowed_builtins"], lost
        else:
            assert not lost, lost


def test_reduce_max_is_reported_cleanly_on_every_softmax_check(graded):
    report = graded(LESSON, "reduce_max.py", checks=NOT_SPEED)
    softmax_rows = [r for r in report.results if r.exercise == "softmax" and r.device == "cpu"]
    assert softmax_rows and all(r.status == "error" and r.points == 0 for r in softmax_rows)
    for r in softmax_rows:
        assert "has no attribute 'reduce_max'" in r.message and "amax(dim=dim, keepdim=True)" in r.message
        assert "internal grader error" not in r.message


def test_speed_check_passes_the_loop_free_mutants_it_does_not_target(graded):
    for exercise in ("softmax_cross_entropy", "cross_entropy"):
        assert row(graded(LESSON, "reference"), exercise, "speed_vs_builtin").status == "passed"
        assert rows(graded(LESSON, "alt_logsumexp.py"), exercise, "speed_vs_builtin")[0].status == "passed"


def test_self_check_runs_the_public_checks_in_process():
    """The notebook's check(fn) path (InProcessRunner): the reference passes, the judge's inputs stay intact."""
    from grader.engine.submission import read_code, run_cells
    from grader.selfcheck import run_public

    module = run_cells(read_code(registry.course().lesson(LESSON).notebook("solutions"))).module
    for exercise in EXERCISES:
        results = run_public(getattr(module, exercise), lesson=LESSON)
        judged = [r for r in results if r.status != "skipped"]
        assert judged and all(r.status == "passed" for r in judged), [r.message for r in judged]
        assert all(r.check in ("seed_example", "matches_torch", "allowed_builtins", "non_last_dim") for r in results)


def test_a_softmax_that_ignores_dim_fails_the_public_self_check():
    """issue 9 #5: the dim-ignoring softmax (wrong_dim_sum.py) is caught before submitting, not only by the grader."""
    from grader.engine.submission import CodeCell, run_cells
    from grader.selfcheck import run_public
    from tests.mutants import SUBMISSIONS

    module = run_cells([CodeCell("mutant", (SUBMISSIONS / LESSON / "wrong_dim_sum.py").read_text())]).module
    failed = [r for r in run_public(module.softmax, lesson=LESSON) if r.status == "failed"]
    assert "non_last_dim" in [r.check for r in failed]
    assert all(r.check == "non_last_dim" or r.message.startswith("not awarded") for r in failed), failed


def test_gradcheck_names_a_lower_precision_result(graded):
    """issue 9 #4: float64 in, float32 out is a precision loss, not 'a detach or an in-place edit'."""
    result = row(graded(LESSON, "float32_inside.py", checks=("seed_example", "matches_torch", "gradcheck")),
                 "softmax", "gradcheck")
    assert result.status == "failed" and "returned float32" in result.message, result.message
    assert "detach" not in result.message


def test_code_that_raises_is_told_which_input(graded):
    """issue 9 #4: a classes-last cross-entropy that raises is told the input's shape and the class dim."""
    report = graded(LESSON, "only_2d_cross_entropy.py", checks=("seed_example", "non_last_dim", "gradcheck"))
    failing = [r for r in report.results if r.exercise == "cross_entropy" and r.status == "error"]
    assert {r.check for r in failing} == {"non_last_dim", "gradcheck"}, failing
    for r in failing:
        assert "cross_entropy on logits [" in r.message and "classes on dim 1" in r.message, r.message


def test_a_scalar_loss_earns_no_speed_point(graded):
    """issue 9 #3: one number instead of [512] losses had the right gradient and once earned the speed point."""
    report = graded(LESSON, "scalar_loss.py", checks=("seed_example", "matches_torch", "speed_vs_builtin"))
    result = row(report, "softmax_cross_entropy", "speed_vs_builtin")
    assert result.status == "failed" and result.points == 0 and "not awarded" in result.message, result


def test_raising_and_wrong_values_cost_the_same_for_the_classes_last_mistake(graded):
    """issue 9 #4: classes-last cross-entropy cost 3 points when it raised on [N, C, d] logits, 2 when it
    returned wrong values. Both now lose every cross_entropy point past the [N, C] checks."""
    def lost(name: str) -> float:
        report = graded(LESSON, name, checks=NOT_SPEED)
        ce = [r for r in report.results if r.exercise == "cross_entropy"]
        assert all(r.status in ("passed", "skipped") for r in report.results if r.exercise != "cross_entropy")
        return sum(r.max_points for r in ce) - sum(r.points for r in ce)

    assert lost("only_2d_cross_entropy.py") == lost("cross_entropy_last_dim.py") > 0


def test_a_hint_describes_the_symptom_observed(graded):
    """issue 9 #4: on float16 logits of scale 3 a global-max softmax is only slightly off (no nan), and the
    hint said '0/0 is nan'. Where the result stayed finite the hint says so; where it is nan it says why."""
    report = graded(LESSON, "global_max.py", checks=("seed_example", "matches_torch", "half_precision"))
    half = row(report, "softmax", "half_precision")
    assert half.status == "failed" and "float16" in half.message, half.message
    assert "one max over the whole tensor" in half.message and "Nothing became nan" in half.message
    assert "and 0/0 is nan" not in half.message, half.message
    seed = row(report, "softmax", "seed_example")
    assert "got nan" in seed.message and "and 0/0 is nan" in seed.message, seed.message
