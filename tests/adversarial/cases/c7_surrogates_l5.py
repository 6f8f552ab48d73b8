import torch


def batch_gather(tensor, indices):
    raise IndexError("bad index \ud800 \udfff \udc80" + "\U0010ffff\x00\x07" * 10)
