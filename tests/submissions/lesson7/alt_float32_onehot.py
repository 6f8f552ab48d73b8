# Correct but different: computes float16/bfloat16 inputs in float32 (then converts back), softmax by
# division with reciprocal, cross-entropy through one-hot labels and the student's own soft version.
import torch
import torch.nn.functional as F


def _wide(t):
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _log_softmax32(logits, dim):
    x = _wide(logits)
    shifted = x - torch.amax(x, dim=dim, keepdim=True)
    return shifted - torch.log(torch.sum(torch.exp(shifted), dim=dim, keepdim=True))


def softmax(logits, dim=-1):
    x = _wide(logits)
    e = torch.exp(x - torch.amax(x, dim=dim, keepdim=True))
    return (e * torch.sum(e, dim=dim, keepdim=True).reciprocal()).to(logits.dtype)


def log_softmax(logits, dim=-1):
    return _log_softmax32(logits, dim).to(logits.dtype)


def softmax_cross_entropy(labels, logits, dim=-1):
    return (-(_wide(labels) * _log_softmax32(logits, dim)).sum(dim=dim)).to(logits.dtype)


def cross_entropy(logits, targets):
    one_hot = F.one_hot(targets, logits.shape[1]).movedim(-1, 1).to(logits.dtype)
    return softmax_cross_entropy(one_hot, logits, dim=1).mean()
