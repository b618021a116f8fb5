"""The MNIST-format data sets: `data=mnist|fashion_mnist|kmnist`.

All three are 28x28 grey images in ten classes, stored as the same four IDX
files in torchvision's layout (`<data_dir>/<folder>/raw/`). `digits=[...]`
selects classes by their number, for any of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataSet:
    """What tells an MNIST-format data set apart."""

    folder: str  # torchvision's class and folder name
    classes: tuple[str, ...]  # the name of each class number
    has_sample: bool = False  # whether a packaged sample can stand in for the full set


DATASETS = {
    "mnist": DataSet("MNIST", tuple(str(d) for d in range(10)), has_sample=True),
    "fashion_mnist": DataSet(
        "FashionMNIST",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
    "kmnist": DataSet("KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")),
}
