"""Is lesson 1 graded right? Reference full, stub zero, each mutant loses the check naming its mistake,
correct-but-different implementations full."""

from __future__ import annotations

import pytest

from grader.engine import registry
from tests.conftest import (
    failures,
    lesson_basics,
    row,
)

LESSON = "lesson1"
_SPEC = registry.course().lesson(LESSON)
VJP = tuple(c.name for c in _SPEC.exercise("vjp").checks)
FIT = tuple(c.name for c in _SPEC.exercise("fit_polynomial").checks)
# fit_polynomial mutants are graded without the drawn polynomials (8 fits) and the op-recorded fit: seconds,
# and every mutant already loses a public check. closed_form.py needs fitted_with_adam.
FIT_FAST = tuple(c for c in FIT if c not in ("matches_least_squares", "fitted_with_adam"))
# ("seed_example" names a check of both exercises: a vjp-only grading also runs fit_polynomial's.)


(test_reference_earns_full_marks, test_cuda_rows_are_skipped_not_passed_without_a_gpu,
 test_stub_earns_zero_with_not_implemented_messages) = lesson_basics(LESSON)


@pytest.mark.parametrize("name, checks", [
    ("alt_backward_fresh_leaf.py", VJP),  # backward(v) on a detached clone, then its .grad
    ("alt_weighted_sum.py", VJP),  # grad of (fn(x) * v).sum(), leaf from no_grad + clone
    ("alt_std_scaled_module.py", FIT),  # x / std, y / rms, nn.Parameter, Horner, lowest power first inside
    ("alt_linear_layer.py", FIT),  # nn.Linear(degree, 1) with the bias as constant, float64 inside
])
def test_correct_but_different_implementation_earns_full_marks(graded, name, checks):
    report = graded(LESSON, name, checks=checks)
    assert not failures(report), failures(report)
    assert report.score == report.max_score > 0


def _checks(exercise: str, check: str) -> tuple[str, ...]:
    if exercise == "vjp":
        return VJP
    return FIT if check == "fitted_with_adam" else FIT_FAST


@pytest.mark.parametrize(
    "name, exercise, check, words",
    [
        # vjp
        ("backward_accumulates.py", "vjp", "x_untouched", ["changed x.grad", "7.0 everywhere",
                                                            "backward() added it into x.grad",
                                                            "torch.autograd.grad"]),
        ("backward_accumulates.py", "vjp", "repeated_calls", ["second returned twice the answer", "accumulate"]),
        ("backward_accumulates.py", "vjp", "plain_input", ["switched on requires_grad of the caller's x"]),
        ("no_grad_outputs.py", "vjp", "non_scalar_outputs", ["implicitly created only for scalar outputs",
                                                              "grad_outputs=v"]),
        ("summed_output.py", "vjp", "non_scalar_outputs", ["v replaced by ones", "v was ignored", "grad_outputs=v"]),
        ("tensor_copy.py", "vjp", "fresh_leaf", ["torch.tensor(x, requires_grad=True)", "To copy construct",
                                                 "cut from", "x.detach().requires_grad_()"]),
        ("grad_wrt_x.py", "vjp", "plain_input", ["does not require grad", "leaf of your own",
                                                 "x.detach().requires_grad_()"]),
        ("no_enable_grad.py", "vjp", "inside_no_grad", ["inside torch.no_grad()", "torch.enable_grad()"]),
        ("create_graph.py", "vjp", "returns_values", ["still requires grad", "create_graph"]),
        ("func_vjp.py", "vjp", "computed_with_autograd", ["torch.func.vjp", "oracle"]),
        # fit_polynomial
        ("no_zero_grad.py", "fit_polynomial", "training_progress", ["Gradients accumulated", "opt.zero_grad()"]),
        ("no_zero_grad.py", "fit_polynomial", "seed_example", ["not [5, 0, 3]", "zero_grad"]),
        ("recreated_parameters.py", "fit_polynomial", "training_progress", ["never had a gradient",
                                                                             "Re-creating the parameters",
                                                                             "Create w once, before the loop"]),
        ("recreated_parameters_and_optimizer.py", "fit_polynomial", "training_progress",
         ["re-created every step", "500 parameter tensors for 500 steps", "before the loop"]),
        ("optimizer_in_loop.py", "fit_polynomial", "training_progress", ["new optimizer was created every step",
                                                                          "running averages restart"]),
        ("notes_fit.py", "fit_polynomial", "seed_example", ["not [5, 0, 3]", "still closing in", "Scale the problem"]),
        ("x_scaled_only.py", "fit_polynomial", "seed_example", ["still closing in", "u = y / max|y|"]),
        ("reversed_order.py", "fit_polynomial", "coefficient_order", ["reverse order", "highest power first"]),
        ("ignores_steps.py", "fit_polynomial", "training_progress", ["same coefficients for steps=1, 50, 500",
                                                                     "ignores `steps`"]),
        ("returns_parameter.py", "fit_polynomial", "output_format", ["still require grad", "w.detach()"]),
        ("closed_form.py", "fit_polynomial", "fitted_with_adam", ["closed form", "lstsq", "torch.optim.Adam"]),
        ("closed_form.py", "fit_polynomial", "training_progress", ["No torch.optim optimizer took a step"]),
    ],
)
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, exercise, check, words):
    report = graded(LESSON, name, checks=_checks(exercise, check))
    result = row(report, exercise, check)
    assert result.status in ("failed", "error"), result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    assert report.score < report.max_score


VJP_MUTANTS = ["backward_accumulates.py", "no_grad_outputs.py", "summed_output.py", "tensor_copy.py",
               "grad_wrt_x.py", "no_enable_grad.py", "create_graph.py", "func_vjp.py"]
FIT_MUTANTS = ["no_zero_grad.py", "recreated_parameters.py", "recreated_parameters_and_optimizer.py",
               "optimizer_in_loop.py", "notes_fit.py", "x_scaled_only.py", "reversed_order.py", "ignores_steps.py",
               "returns_parameter.py"]


@pytest.mark.parametrize("name", VJP_MUTANTS + FIT_MUTANTS)
def test_mutant_costs_only_the_exercise_it_breaks(graded, name):
    broken, checks = ("vjp", VJP) if name in VJP_MUTANTS else ("fit_polynomial", FIT_FAST)
    report = graded(LESSON, name, checks=checks)
    lost = {r.exercise for r in report.results if r.status in ("failed", "error")}
    assert lost == {broken}, failures(report)


def test_the_copy_mutant_loses_only_the_copy_check(graded):
    """torch.tensor(x, requires_grad=True) gives right values: only fresh_leaf, which names the copy, is lost."""
    report = graded(LESSON, "tensor_copy.py", checks=VJP)
    assert [r.check for r in report.results if r.status != "passed" and r.device == "cpu"] == ["fresh_leaf"]


def test_structure_points_need_right_values(graded):
    """backward_accumulates.py is never copy-constructing nor using torch.func, yet earns no structure point."""
    report = graded(LESSON, "backward_accumulates.py", checks=VJP)
    for check in ("fresh_leaf", "computed_with_autograd"):
        result = row(report, "vjp", check)
        assert result.points == 0 and "not awarded" in result.message, result


def test_a_drawn_case_names_the_accumulated_grad(graded):
    """In the hidden drawn cases a result equal to the old .grad plus the product is called that."""
    result = row(graded(LESSON, "backward_accumulates.py", checks=VJP), "vjp", "matches_torch_func")
    assert result.status == "failed" and "already held plus the product" in result.message, result.message


def test_self_check_runs_the_public_checks_in_process():
    """The notebook's check(fn) path (InProcessRunner): the reference passes every public check."""
    from grader.engine.submission import read_code, run_cells
    from grader.selfcheck import run_public

    module = run_cells(read_code(_SPEC.notebook("solutions"))).module
    for exercise in ("vjp", "fit_polynomial"):
        results = run_public(getattr(module, exercise), lesson=LESSON)
        judged = [r for r in results if r.status != "skipped"]
        assert judged and all(r.status == "passed" for r in judged), [r.message for r in judged]
        hidden = {c.name for c in _SPEC.exercise(exercise).checks if not c.public}
        assert hidden and not hidden & {r.check for r in results}
