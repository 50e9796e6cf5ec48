"""The student network: a small fully convolutional minutiae detector (PyTorch, CPU).

Its input is a normalised 500 dpi finger crop whose sides are multiples of 32 (the same crop
the teacher sees). It answers at half resolution, per cell: a minutia logit, the direction's
cosine and sine, and an ending-versus-bifurcation logit. Three strided stages give it a
receptive field of about two ridge periods on each side of a minutia at a fraction of the
teacher's arithmetic; two upsampling steps bring the answer back to half resolution, where
one cell is 2 px: finer than the comparison stage's tolerance.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# Output channels: minutia logit, cos, sin, ending logit.
OUTPUTS = 4


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Student(nn.Module):
    """Encoder at 1/2, 1/4 and 1/8 resolution; decoder back to 1/2 with additive skips."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w1, w2, w3 = 2 * width, 3 * width, 4 * width
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 5, 2, padding=2, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            _conv(width, w1),
        )
        self.down2 = nn.Sequential(_conv(w1, w2, stride=2), _conv(w2, w2))
        self.down3 = nn.Sequential(
            _conv(w2, w3, stride=2), _conv(w3, w3, dilation=2), _conv(w3, w3)
        )
        self.lateral3 = nn.Conv2d(w3, w2, 1)
        self.up2 = _conv(w2, w2)
        self.lateral2 = nn.Conv2d(w2, w1, 1)
        self.up1 = _conv(w1, w1)
        self.head = nn.Conv2d(w1, OUTPUTS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) normalised pixels -> (N, 4, H/2, W/2) raw outputs."""
        s1 = self.stem(x)
        s2 = self.down2(s1)
        s3 = self.down3(s2)
        u2 = self.up2(s2 + F.interpolate(self.lateral3(s3), scale_factor=2.0, mode="nearest"))
        u1 = self.up1(s1 + F.interpolate(self.lateral2(u2), scale_factor=2.0, mode="nearest"))
        return self.head(u1)
