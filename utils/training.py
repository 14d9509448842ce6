"""One small training loop for every torch model in the course.

Chapters differ in what a batch is and what the loss is, not in the loop, so the loop takes two
functions: ``next_batch(step) -> batch`` and ``loss_fn(model, batch) -> scalar tensor``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from utils.progress import progress

if TYPE_CHECKING:  # annotations only: importing torch takes a second
    import torch


@dataclass
class TrainLog:
    """Loss per step, plus any values returned by ``on_step`` (e.g. test error every k steps)."""

    losses: list[float] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)


def make_optimizer(
    model, name: str = "adamw", lr: float = 1e-3, weight_decay: float = 0.0
):
    """``adamw``, ``adam`` or ``sgd`` over the model's trainable parameters."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if lr <= 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    choices = {
        "adamw": torch.optim.AdamW,
        "adam": torch.optim.Adam,
        "sgd": torch.optim.SGD,
    }
    if name not in choices:
        raise ValueError(f"optimizer must be one of {sorted(choices)}, got {name!r}")
    return choices[name](params, lr=lr, weight_decay=weight_decay)


def train(
    model,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    next_batch: Callable[[int], Any],
    *,
    steps: int,
    optimizer=None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    grad_clip: float | None = None,
    on_step: Callable[[int, Any], dict | None] | None = None,
    desc: str = "training",
) -> TrainLog:
    """Run ``steps`` optimisation steps and return the :class:`TrainLog`.

    ``optimizer`` defaults to AdamW(lr, weight_decay). ``on_step(step, model)`` runs after each
    step; a dict it returns is kept in ``log.records`` with the step number added. A non-finite
    loss stops training with ``FloatingPointError`` naming the step.
    """
    import torch

    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    optimizer = optimizer or make_optimizer(model, "adamw", lr, weight_decay)
    log = TrainLog()
    model.train()
    for step in progress(range(steps), desc=desc):
        loss = loss_fn(model, next_batch(step))
        if loss.dim() != 0:
            raise ValueError(
                f"loss_fn must return a scalar, got shape {tuple(loss.shape)}"
            )
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        log.losses.append(loss.item())
        if on_step is not None:
            extra = on_step(step, model)
            if extra:
                log.records.append({"step": step, **extra})
    model.eval()
    return log
