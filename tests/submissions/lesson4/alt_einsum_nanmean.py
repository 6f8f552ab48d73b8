# Correct but different: row_sum with einsum; masked_mean fills the entries outside [lo, hi) with nan
# (the mask flipped with ~ on bool) and takes torch.nanmean, which is nan for a slice of nothing but nan.
import torch


def row_sum(x):
    return torch.einsum("i...->...", x)


def masked_mean(x, lo, hi, dim):
    outside = ~((x >= lo) & (x < hi))
    return torch.nanmean(x.masked_fill(outside, float("nan")), dim=dim)
