"""Is lesson 2 graded right? Reference full, stub zero, each mutant loses the check naming its mistake,
correct-but-different modules full. Grading the whole lesson takes about a second a submission, so every
submission is graded once, on every check."""

from __future__ import annotations

import pytest
import torch

from grader.probes.lesson2 import ModeNet
from tests.conftest import (
    failures,
    lesson_basics,
    row,
)

LESSON = "lesson2"


(test_reference_earns_full_marks, test_cuda_rows_are_skipped_not_passed_without_a_gpu,
 test_stub_earns_zero_with_not_implemented_messages) = lesson_basics(LESSON)


@pytest.mark.parametrize("name", [
    "alt_linear_and_blocks.py",  # nn.Linear(1, 1) + squeeze(-1); nested blocks, shared ReLU; inference_mode
    "alt_scalar_parameters.py",  # 0-dim parameters, intercept listed first, zeros; add_module names; per-module modes
])
def test_correct_but_different_implementation_earns_full_marks(graded, name):
    report = graded(LESSON, name)
    assert not failures(report), failures(report)
    assert report.score == report.max_score > 0


MUTANTS = [
    # AffineNet
    ("plain_tensors.py", "AffineNet", "parameters_registered",
     ["parameters() is empty", "`a`, `b` are plain tensors", "nn.Parameter"]),
    ("plain_tensors.py", "AffineNet", "moves_with_to", ["`a` is still float32", "never plain tensor attributes"]),
    ("plain_tensors.py", "AffineNet", "trains_with_sgd", ["nothing to train", "plain tensors"]),
    ("parameter_list.py", "AffineNet", "parameters_registered",
     ["`params` is a Python list", "does not look inside Python lists", "nn.ParameterList"]),
    ("parameter_list.py", "AffineNet", "moves_with_to", ["`params` (a Python list) still holds float32"]),
    ("parameter_list.py", "AffineNet", "state_dict_round_trip", ["state_dict() is empty"]),
    ("no_super_init.py", "AffineNet", "parameters_registered",
     ["cannot assign parameters before Module.__init__() call", "super().__init__()"]),
    ("linear_no_squeeze.py", "AffineNet", "output_shape", ["shape [7, 1]", "squeeze(1)", "[7, 7]"]),
    ("linear_no_squeeze.py", "AffineNet", "seed_example", ["shape [100, 1]"]),
    ("squeeze_without_dim.py", "AffineNet", "output_shape", ["0-dim tensor", "squeeze() without a dim", "squeeze(1)"]),
    ("data_in_forward.py", "AffineNet", "trains_with_sgd", ["does not require grad", ".data"]),
    ("frozen_intercept.py", "AffineNet", "parameters_registered", ["`b` has requires_grad=False"]),
    ("frozen_intercept.py", "AffineNet", "trains_with_sgd", ["no gradient ever reached parameter `b`", "stayed at"]),
    # make_mlp
    ("final_relu.py", "make_mlp", "raw_logits", ["ends in a ReLU", "never negative", "raw logits"]),
    ("final_relu.py", "make_mlp", "two_sizes", ["ends in a ReLU"]),
    ("final_softmax.py", "make_mlp", "raw_logits", ["ends in a Softmax", "probabilities", "raw logits"]),
    ("no_relu.py", "make_mlp", "relu_between", ["no ReLU between the Linear layers", "one linear map"]),
    ("layer_list.py", "make_mlp", "parameters_registered",
     ["`blocks` is a Python list holding 3 module(s)", "nn.ModuleList"]),
    ("sequential_of_list.py", "make_mlp", "seed_example", ["list is not a Module subclass", "nn.Sequential(*layers)"]),
    # predict
    ("no_eval.py", "predict", "eval_outputs", ["ran in train mode", "model.eval()"]),
    ("no_eval.py", "predict", "eval_mode", ["updated its running mean", "model.eval()"]),
    ("no_eval.py", "predict", "functional_dropout", ["F.dropout(h, p, training=self.training)", "different outputs"]),
    ("no_eval.py", "predict", "single_example", ["Expected more than 1 value per channel", "model.eval()"]),
    ("no_no_grad.py", "predict", "no_graph", ["requires grad", "torch.no_grad()"]),
    ("detach_after.py", "predict", "no_graph", ["detached afterwards", "built for nothing", "torch.no_grad()"]),
    ("mode_not_restored.py", "predict", "restores_mode", ["in train mode before predict and in eval mode after"]),
    ("always_train_after.py", "predict", "restores_mode", ["in eval mode before predict and in train mode after"]),
    ("eval_only_layers.py", "predict", "functional_dropout",
     ["model.training = True", "Dropout and BatchNorm layers in eval is not enough", "model.eval()"]),
    ("set_grad_enabled.py", "predict", "grad_mode_restored", ["autograd was switched off", "torch.no_grad()"]),
]


@pytest.mark.parametrize("name, exercise, check, words", MUTANTS, ids=[f"{m[0]}-{m[2]}" for m in MUTANTS])
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, exercise, check, words):
    report = graded(LESSON, name)
    result = row(report, exercise, check)
    assert result.status in ("failed", "error"), result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    assert report.score < report.max_score


@pytest.mark.parametrize("name", sorted({m[0] for m in MUTANTS}))
def test_a_mistake_in_one_exercise_costs_nothing_in_the_others(graded, name):
    report = graded(LESSON, name)
    exercise = next(m[1] for m in MUTANTS if m[0] == name)
    lost = {r.exercise for r in report.results if r.status in ("failed", "error")}
    assert lost == {exercise}, failures(report)


@pytest.mark.parametrize("name, kept", [
    ("eval_only_layers.py", ["eval_outputs", "eval_mode", "no_graph", "restores_mode", "single_example"]),
    ("mode_not_restored.py", ["eval_outputs", "eval_mode", "no_graph", "functional_dropout", "grad_mode_restored"]),
    ("detach_after.py", ["eval_outputs", "eval_mode", "restores_mode", "functional_dropout"]),
    ("squeeze_without_dim.py", ["seed_example", "parameters_registered", "trains_with_sgd"]),
])
def test_a_narrow_mistake_loses_only_its_own_checks(graded, name, kept):
    report = graded(LESSON, name)
    exercise = next(m[1] for m in MUTANTS if m[0] == name)
    for check in kept:
        assert row(report, exercise, check).status == "passed", row(report, exercise, check)


def test_the_functional_dropout_model_shows_the_pitfall_the_check_relies_on():
    """The grader's model passes training=self.training; without it (the pitfall the notebook demonstrates)
    F.dropout drops units even in eval mode, and no predict could make its output deterministic."""
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    outputs = {}
    for pass_training in (True, False):
        torch.manual_seed(0)
        net = ModeNet(6, 16, 3, 0.5, functional=True, pass_training=pass_training).eval()
        with torch.no_grad():
            outputs[pass_training] = (net(x), net(x))
    assert torch.equal(*outputs[True])
    assert not torch.equal(*outputs[False])
