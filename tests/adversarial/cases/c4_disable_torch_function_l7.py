import torch




def log_softmax(logits, dim=-1):
    raise NotImplementedError("lesson7: log_softmax")


def softmax_cross_entropy(labels, logits, dim=-1):
    raise NotImplementedError("lesson7: softmax_cross_entropy")


def cross_entropy(logits, targets):
    raise NotImplementedError("lesson7: cross_entropy")

def softmax(logits, dim=-1):
    with torch._C.DisableTorchFunction():
        return torch.softmax(logits, dim)
