"""Optimizers that compute exactly what their `torch.optim` namesakes compute, faster.

`optimizer=rmsprop` builds `RMSprop` here: the same settings, state and
results, bit for bit, as `torch.optim.RMSprop`, so checkpoints move freely
between the two.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _sqrt_floor(eps: float, dtype: torch.dtype) -> float:
    """A v small enough that its root, added to eps, rounds to eps in `dtype`.

    Half a unit in the last place of eps is at least eps * finfo.eps / 4, so
    any root below eps * finfo.eps / 8 vanishes in the sum.
    """
    return (eps * torch.finfo(dtype).eps / 8) ** 2


class RMSprop(torch.optim.RMSprop):
    """`torch.optim.RMSprop` with the same results, whose plain CPU step avoids a slow square root.

    On some CPUs (this project's AMD EPYC among them) PyTorch's square root of
    an exact zero takes five times as long as that of any other number, and
    the running mean of squared gradients holds zeros for every weight of a
    unit that no longer learns: a third of the reference model's largest
    layer, where the root took 0.8 ms of a 10 ms step. Values below
    `_sqrt_floor(eps)` are raised to it before the root, which leaves
    sqrt(v) + eps unchanged bit for bit. The update runs as one `_foreach`
    operation per line over all tensors (torch takes that form only on GPUs),
    with each tensor's arithmetic unchanged. Momentum, `centered`,
    `maximize`, `capturable` and `differentiable`, and tensors off the CPU,
    take torch's own step.
    """

    def _plain(self) -> bool:
        return all(
            not (group["momentum"] or group["centered"] or group["maximize"])
            and not (group["capturable"] or group["differentiable"])
            and all(p.device.type == "cpu" and p.is_floating_point() for p in group["params"])
            for group in self.param_groups
        )

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        if not self._plain():
            return super().step(closure)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError("RMSprop does not support sparse gradients")
            for param in params:
                if not self.state[param]:  # the keys and types of torch's RMSprop
                    self.state[param]["step"] = torch.zeros((), dtype=_scalar_dtype())
                    self.state[param]["square_avg"] = torch.zeros_like(
                        param, memory_format=torch.preserve_format
                    )
            _update(params, [self.state[p] for p in params], group)
        return loss


def _scalar_dtype() -> torch.dtype:
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _update(params: list[torch.Tensor], states: list[dict], group: dict) -> None:
    """torch's RMSprop update without momentum, as one operation per step over all tensors."""
    alpha, eps, lr, decay = group["alpha"], group["eps"], group["lr"], group["weight_decay"]
    grads = [p.grad for p in params]
    square_avgs = [state["square_avg"] for state in states]
    torch._foreach_add_([state["step"] for state in states], 1)
    if decay:
        grads = torch._foreach_add(grads, params, alpha=decay)
    torch._foreach_mul_(square_avgs, alpha)
    torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
    # The finest dtype's floor is below every coarser dtype's too.
    finest = min((p.dtype for p in params), key=lambda dtype: torch.finfo(dtype).eps)
    roots = torch._foreach_clamp_min(square_avgs, _sqrt_floor(eps, finest))
    torch._foreach_sqrt_(roots)
    torch._foreach_add_(roots, eps)
    torch._foreach_addcdiv_(params, grads, roots, value=-lr)
