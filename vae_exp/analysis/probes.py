"""How well the latent means separate the classes, though no label was used in training.

Two standard read-outs of a representation: a multinomial logistic-regression
probe and a k-nearest-neighbour vote, both fitted on the training split's
latent means and scored on another split's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PROBE_L2 = 1e-4
PROBE_ITERATIONS = 200
NEIGHBOURS = 5
_CHUNK = 512


def linear_probe_accuracy(
    train_z: torch.Tensor, train_y: torch.Tensor, test_z: torch.Tensor, test_y: torch.Tensor
) -> float:
    """Accuracy of logistic regression (standardised inputs, L2 1e-4, L-BFGS) fitted on train."""
    classes, train_index = torch.unique(train_y, return_inverse=True)
    mean, std = train_z.mean(dim=0), train_z.std(dim=0).clamp(min=1e-6)
    train_x, test_x = (train_z - mean) / std, (test_z - mean) / std
    weight = torch.zeros(train_x.shape[1], len(classes), dtype=train_x.dtype, requires_grad=True)
    bias = torch.zeros(len(classes), dtype=train_x.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], max_iter=PROBE_ITERATIONS, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(train_x @ weight + bias, train_index)
        loss = loss + PROBE_L2 * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        predicted = classes[(test_x @ weight + bias).argmax(dim=1)]
    return (predicted == test_y).float().mean().item()


def knn_accuracy(
    train_z: torch.Tensor,
    train_y: torch.Tensor,
    test_z: torch.Tensor,
    test_y: torch.Tensor,
    k: int = NEIGHBOURS,
) -> float:
    """Accuracy of a majority vote of the k nearest training means (Euclidean)."""
    k = min(k, len(train_z))
    correct = 0
    for start in range(0, len(test_z), _CHUNK):
        distances = torch.cdist(test_z[start : start + _CHUNK], train_z)
        nearest = distances.topk(k, dim=1, largest=False).indices
        votes = torch.mode(train_y[nearest], dim=1).values
        correct += int((votes == test_y[start : start + _CHUNK]).sum())
    return correct / len(test_z)
