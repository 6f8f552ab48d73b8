"""Layers that record their mode (child side): each forward appends `self.training` to `log_training`, which
the model that owns them sets to a list. Lessons 2 and 8 build their instrumented models from these."""

from __future__ import annotations

import torch
from torch import nn


class Dropout(nn.Dropout):
    log_training: list[bool]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.log_training.append(self.training)
        return super().forward(x)


class BatchNorm(nn.BatchNorm1d):
    log_training: list[bool]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.log_training.append(self.training)
        return super().forward(x)
