"""Pictures as the figure callbacks draw them, and as the loggers that take arrays want them.

The callbacks draw image tensors (C, H, W in [0, 1]) and matplotlib figures;
`vae_exp.loggers.adapters.log_pictures` sends them to every logger.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Picture = torch.Tensor | Figure


def rgb_array(picture: Picture) -> np.ndarray:
    """A picture as an (H, W, 3) uint8 array, the format image-logging APIs share."""
    if isinstance(picture, Figure):
        canvas = FigureCanvasAgg(picture)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()
    image = picture.detach().float().cpu().clamp(0, 1)
    if image.dim() == 2:
        image = image.unsqueeze(0)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return (image.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
