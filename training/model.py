"""The book's LeNet-style CNN, for 32×32 colour images (CIFAR-10) and for 8×8 grey digits."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ImageShape:
    """Channels, height and width of the images a network takes."""

    channels: int
    height: int
    width: int


class LeNet(nn.Module):
    """Two conv + max-pool stages, then three fully connected layers.

    Parameters
    ----------
    in_channels : int
        3 for colour, 1 for grey.
    kernel_size, padding : int
        The book's network uses 5×5 kernels without padding on 32×32 inputs (32→28→14→10→5,
        so 16·5·5 = 400 features). The 8×8 digits are too small for that: 3×3 kernels padded
        to keep the size give 8→8→4→4→2, i.e. 16·2·2 = 64 features.
    flat_features : int
        Size of the flattened output of the second stage.
    num_classes : int
        Number of output logits.
    """

    def __init__(
        self,
        in_channels: int = 3,
        kernel_size: int = 5,
        padding: int = 0,
        flat_features: int = 16 * 5 * 5,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size, padding=padding),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, kernel_size, padding=padding),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat_features, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


CIFAR_SHAPE = ImageShape(channels=3, height=32, width=32)
DIGITS_SHAPE = ImageShape(channels=1, height=8, width=8)


def build_model(dataset: str, num_classes: int = 10) -> tuple[LeNet, ImageShape]:
    """The network for a data set, and the image shape it expects."""
    if dataset == "cifar10":
        return LeNet(in_channels=3, num_classes=num_classes), CIFAR_SHAPE
    if dataset == "digits":
        return (
            LeNet(in_channels=1, kernel_size=3, padding=1, flat_features=16 * 2 * 2, num_classes=num_classes),
            DIGITS_SHAPE,
        )
    raise ValueError(f"unknown dataset {dataset!r}: expected 'digits' or 'cifar10'")
