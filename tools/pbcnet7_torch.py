"""The PyTorch definition of pbcnet7, the 7-block CNN of source paper 003 (Asghar et al. 2023).

This is the ONE PyTorch definition of the model: tools/convert_torchvision.py validates pbcnet7
checkpoints against it and tests/models/make_model_refs.py builds the reference from it. It mirrors
hemo's models/pbcnet7.h name for name:

    features.<b>.0   Conv2d(c_in, c_out, 3, padding=1)      (3x3 'same', with bias)
    features.<b>.1   ReLU
    features.<b>.2   MaxPool2d(2, pool_stride, ceil_mode=True)
    features.<b>.3   Dropout(dropout)                         for the 7 blocks b = 0..6
    (flatten)
    classifier.0     Linear(256 * f * f, 128)                 f = the spatial side after block 6
    classifier.1     ReLU
    classifier.2     Linear(128, num_classes)                 (the head)

Filters 32-64-64-64-128-256-256. The 2x2 pool with ceil_mode=True behaves like Keras' 'same'
pooling: with stride 2 the side goes 100->50->25->13->7->4->2->1; with stride 1 (the paper's
literal text) it loses one pixel per block (100->93). Initialization: convolutions
kaiming_normal_(fan_out, relu) with zero bias, as torchvision's VGG; the Linear layers keep
torch.nn's default initialization.
"""
import torch
from torch import nn

FILTERS = (32, 64, 64, 64, 128, 256, 256)
HIDDEN = 128


def pool_output_size(size, stride, kernel=2):
    """PyTorch's ceil-mode pooling rule (padding 0): the last window must start inside the input."""
    out = -(-(size - kernel) // stride) + 1
    if (out - 1) * stride >= size:
        out -= 1
    return out


def feature_side(input_size, pool_stride=2):
    side = input_size
    for _ in FILTERS:
        side = pool_output_size(side, pool_stride)
        if side < 1:
            raise ValueError(f"pbcnet7: input {input_size} is too small for 7 pools of stride {pool_stride}")
    return side


class PBCNet7(nn.Module):
    def __init__(self, num_classes=8, input_size=100, pool_stride=2, dropout=0.25):
        super().__init__()
        blocks, c_in = [], 3
        for c_out in FILTERS:
            blocks.append(nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2, pool_stride, ceil_mode=True),
                nn.Dropout(dropout),
            ))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        side = feature_side(input_size, pool_stride)
        self.classifier = nn.Sequential(
            nn.Linear(FILTERS[-1] * side * side, HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(HIDDEN, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def pbcnet7(num_classes=8, input_size=100, pool_stride=2, dropout=0.25):
    return PBCNet7(num_classes, input_size, pool_stride, dropout)
