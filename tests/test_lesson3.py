"""Is lesson 3 graded right? Reference full, stub zero, each mutant loses the check naming its mistake."""

from __future__ import annotations

import pytest

from tests.conftest import (
    assert_full_marks,
    lesson_basics,
    row,
)

LESSON = "lesson3"


(test_reference_earns_full_marks, test_cuda_rows_are_skipped_not_passed_without_a_gpu,
 test_stub_earns_zero_with_not_implemented_messages) = lesson_basics(LESSON)


@pytest.mark.parametrize(
    "name, exercise, check, words",
    [
        ("repeat_cat.py", "Merge", "no_tiled_intermediate", ["repeat"]),
        ("plain_tensors.py", "Merge", "parameters_registered", ["parameters()", "registered"]),
        ("branch_activation.py", "Merge", "activation_after_sum", ["each branch"]),
        ("branch_activation.py", "Merge", "matches_concat_linear", ["each branch"]),
        ("only_3d.py", "Merge", "broadcast_shapes", ["3-D", "broadcastable"]),
        ("python_loop.py", "Merge", "no_python_loop", ["loops over the batch"]),
        ("sum_without_dim.py", "total_scores", "per_example_values", ["summed without naming dim"]),
        ("squeeze_without_dim.py", "total_scores", "singleton_dims", ["squeeze()", "squeeze(-1)"]),
        ("leftover_singleton.py", "total_scores", "per_example_values", ["size-1 dim", "sum(a + b) = 12"]),
    ],
)
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, exercise, check, words):
    report = graded(LESSON, name)
    result = row(report, exercise, check)
    assert result.status in ("failed", "error"), result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    assert report.score < report.max_score


@pytest.mark.parametrize("name", ["repeat_cat.py", "python_loop.py", "branch_activation.py"])
def test_mutant_keeps_the_points_of_what_it_got_right(graded, name):
    report = graded(LESSON, name)
    for check in ("per_example_values", "singleton_dims", "matches_oracle", "gradients"):
        assert row(report, "total_scores", check).status == "passed"


def test_repeat_cat_is_also_caught_by_the_speed_threshold(graded):
    result = row(graded(LESSON, "repeat_cat.py"), "Merge", "speed_vs_repeat_cat")
    assert result.status == "failed" and "faster than repeat + cat" in result.message


def test_correct_but_different_implementation_earns_full_marks(graded):
    assert_full_marks(graded(LESSON, "functional_linear.py"))


def test_a_constant_of_the_right_shape_earns_no_structure_or_speed_point(graded):
    """Do structure, speed and gradient points need right values (issue 8)?"""
    report = graded(LESSON, "constant_output.py")
    for check in ("no_tiled_intermediate", "no_python_loop", "speed_vs_repeat_cat", "gradients"):
        result = row(report, "Merge", check)
        assert result.status == "failed" and result.points == 0, result
    assert sum(r.points for r in report.results if r.exercise == "Merge") == 0


def test_misnamed_linears_are_named_not_blamed_on_forward(graded):
    """issue 9 #4: parameters_registered names the missing `linear1`, not an error from the forward pass."""
    result = row(graded(LESSON, "misnamed_linears.py"), "Merge", "parameters_registered")
    assert result.status == "failed" and "`linear1`" in result.message and "raised" not in result.message, result


def test_a_non_tensor_result_is_called_that(graded):
    """issue 9 #4: a NumPy result is reported as not a tensor, not as 'gradient differs from torch's'."""
    report = graded(LESSON, "returns_numpy.py")
    for check in ("per_example_values", "gradients"):
        result = row(report, "total_scores", check)
        assert result.points == 0 and "must return a torch.Tensor, got ndarray" in result.message, result
