"""Is lesson 8 graded right? Reference full, stub zero, each mutant loses the check naming its mistake,
correct-but-different loops full. Mutants are graded on their exercise's checks only (the digits training
and the timed epochs take seconds each)."""

from __future__ import annotations

import pytest

from grader.engine import registry
from tests.conftest import (
    failures,
    lesson_basics,
    row,
)

LESSON = "lesson8"
SLOW = {"speed_vs_reference", "digits_reference_loop", "digits_your_loop"}


def _checks(exercise: str) -> tuple[str, ...]:
    return tuple(c.name for c in registry.course().lesson(LESSON).checks
                 if c.exercise == exercise and c.name not in SLOW)


(test_reference_earns_full_marks, test_cuda_rows_are_skipped_not_passed_without_a_gpu,
 test_stub_earns_zero_with_not_implemented_messages) = lesson_basics(LESSON)


def test_correct_but_different_loop_earns_full_marks(graded):
    """Rescaled partial group, set_to_none, detached running total, inference_mode, a small CNN."""
    report = graded(LESSON, "alt_rescale_at_end.py")
    assert not failures(report), failures(report)
    assert report.score == report.max_score


@pytest.mark.parametrize(
    "name, exercise, check, words",
    [
        ("no_zero_grad.py", "train_one_epoch", "matches_plain_loop",
         ["at optimizer step 2", "previous step's gradients", "leak across steps", "zero_grad()"]),
        ("no_zero_grad.py", "train_one_epoch", "stale_gradients", ["stale gradients already in .grad"]),
        ("zero_grad_between_backward_and_step.py", "train_one_epoch", "matches_plain_loop",
         ["all zero", "between backward() and step()"]),
        ("zero_grad_every_micro_batch.py", "train_one_epoch", "accumulation",
         ["only the last micro-batch's gradient", "zero_grad() ran inside the accumulation"]),
        ("step_every_micro_batch.py", "train_one_epoch", "accumulation",
         ["ran after every one of the 6 micro-batches", "2 steps here"]),
        ("loss_not_divided_by_k.py", "train_one_epoch", "accumulation", ["SUM of the 3 micro-batch gradients"]),
        ("partial_group_dropped.py", "train_one_epoch", "accumulation_partial_group",
         ["2 optimizer steps for 7 batches", "partial group, never reached optimizer.step()"]),
        ("partial_group_divided_by_k.py", "train_one_epoch", "accumulation_partial_group",
         ["partial group of 1 batch(es) was divided by 3, not by 1"]),
        ("no_model_train.py", "train_one_epoch", "train_mode", ["ran in eval mode", "model.train()"]),
        ("softmax_before_loss.py", "train_one_epoch", "logits_to_loss", ["softmax probabilities", "raw outputs"]),
        ("targets_require_grad.py", "train_one_epoch", "logits_to_loss", ["targets given to the loss required grad"]),
        ("summed_loss_tensors.py", "train_one_epoch", "no_graph_kept",
         ["graphs of 10 earlier steps were still alive", "loss.item()"]),
        ("inputs_not_moved.py", "train_one_epoch", "moves_to_device", ["without .to(device)", "same device"]),
        ("inputs_not_moved.py", "evaluate", "moves_to_device", ["without .to(device)"]),
        ("unweighted_batch_means.py", "train_one_epoch", "returns_mean_loss",
         ["plain mean of the batch means", "weighted by its size"]),
        ("evaluate_without_eval.py", "evaluate", "eval_mode",
         ["ran in train mode", "running mean", "model.eval()"]),
        ("evaluate_without_no_grad.py", "evaluate", "no_graph", ["recorded a graph in 5 of 5", "torch.no_grad()"]),
        ("evaluate_mode_not_restored.py", "evaluate", "restores_mode", ["in train mode before", "eval mode after"]),
        ("evaluate_always_train_after.py", "evaluate", "restores_mode", ["in eval mode before", "train mode after"]),
        ("accuracy_from_max_values.py", "evaluate", "loss_and_accuracy", ["accuracy 0,", "argmax(dim=1)"]),
        ("accuracy_percent.py", "evaluate", "loss_and_accuracy", ["is a percentage", "fraction"]),
        ("model_ends_in_softmax.py", "make_model", "logits_for_digits", ["probabilities", "raw logits"]),
    ],
)
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, exercise, check, words):
    report = graded(LESSON, name, checks=_checks(exercise))
    result = row(report, exercise, check)
    assert result.status in ("failed", "error"), result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    assert report.score < report.max_score


def test_a_model_too_small_for_the_digits_misses_the_accuracy_bar(graded):
    report = graded(LESSON, "model_too_small.py", checks=("logits_for_digits", "digits_reference_loop"))
    assert row(report, "make_model", "logits_for_digits").status == "passed"
    result = row(report, "make_model", "digits_reference_loop")
    assert result.status == "failed" and "bar 95%" in result.message, result.message


def test_a_loop_that_leaks_gradients_misses_the_bar_with_its_own_loop(graded):
    report = graded(LESSON, "no_zero_grad.py", checks=("digits_reference_loop", "digits_your_loop"))
    assert row(report, "make_model", "digits_reference_loop").status == "passed"
    result = row(report, "make_model", "digits_your_loop")
    assert result.status == "failed" and "the difference is in train_one_epoch" in result.message, result.message


def test_a_correct_but_slow_loop_loses_only_the_speed_point(graded):
    report = graded(LESSON, "per_example_loop.py", checks=("matches_plain_loop", "returns_mean_loss",
                                                           "accumulation", "speed_vs_reference"))
    for check in ("matches_plain_loop", "returns_mean_loss", "accumulation"):
        assert row(report, "train_one_epoch", check).status == "passed"
    result = row(report, "train_one_epoch", "speed_vs_reference")
    assert result.status == "failed" and "the time of the grader's loop" in result.message, result.message


def test_mistakes_in_one_function_cost_nothing_in_the_others(graded):
    for name, exercise in (("evaluate_without_eval.py", "evaluate"), ("partial_group_dropped.py", "train_one_epoch")):
        report = graded(LESSON, name, checks=_checks("train_one_epoch") + _checks("evaluate"))
        lost = {r.exercise for r in report.results if r.status in ("failed", "error")}
        assert lost == {exercise}, failures(report)
