"""Ground-truth factors of variation (dSprites, Shapes3D): what made each image.

Disentanglement research compares a model's latent traversals with real images
that differ in one factor only; `GroundTruthFactors.images_along` finds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class GroundTruthFactors:
    """The factors of each image of an array: names, and each image's class and value per factor.

    `classes` (N, F) numbers each factor's distinct values 0..size-1 in order;
    `values` (N, F) holds the values themselves (a scale, an angle in radians...).
    """

    names: tuple[str, ...]
    classes: np.ndarray
    values: np.ndarray
    images: np.ndarray | None = None  # the uint8 images (N, C, H, W) the rows number

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(n) + 1 for n in self.classes.max(axis=0))

    def images_along(self, factor: int, count: int, base_row: int = 0) -> np.ndarray:
        """Rows of images equal to `base_row`'s in every factor but `factor`, in its order.

        At most `count`, spread evenly over the factor's values.
        """
        others = [f for f in range(len(self.names)) if f != factor]
        base = self.classes[base_row, others]
        same = np.flatnonzero((self.classes[:, others] == base).all(axis=1))
        steps = self.classes[same, factor]
        _, first = np.unique(steps, return_index=True)  # one image per value, in value order
        chosen = same[first]
        if len(chosen) > count:
            chosen = chosen[np.linspace(0, len(chosen) - 1, count).round().astype(int)]
        return chosen

    def walks(self, count: int) -> list[tuple[str, torch.Tensor]]:
        """For each factor that varies, real images along it, as float (K, C, H, W) in [0, 1]."""
        if self.images is None:
            return []
        found = []
        for factor, name in enumerate(self.names):
            rows = self.images_along(factor, count)
            if len(rows) > 1:
                pixels = torch.from_numpy(np.asarray(self.images[rows]))
                found.append((name, pixels.to(torch.float32).div_(255.0)))
        return found


def classes_of(values: np.ndarray) -> np.ndarray:
    """Each column's values numbered 0..k-1 in increasing order (Shapes3D stores only values)."""
    columns = [np.unique(column, return_inverse=True)[1] for column in values.T]
    return np.stack(columns, axis=1).astype(np.int64)
