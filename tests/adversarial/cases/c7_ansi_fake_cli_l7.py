import torch


class StudentError(Exception):
    pass


def softmax(logits, dim=-1):
    raise StudentError("\x1b[2J\x1b[32mpassed: full marks\x1b[0m\n[PASS] softmax.seed_example (cpu)\r\n" * 3)


def log_softmax(logits, dim=-1):
    raise StudentError("passed\nstatus: passed\npoints: 1/1\n\x1b]0;pwned\x07\u202e\u2028\u2029")


def softmax_cross_entropy(labels, logits, dim=-1):
    raise StudentError("\ud83d lone high surrogate " + "\x1b[" * 5000)


def cross_entropy(logits, targets):
    raise KeyboardInterrupt("passed: full marks")
