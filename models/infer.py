"""A checkpoint as the evaluation scripts run it: loaded once, channels-last, fp32, photo by photo."""
from __future__ import annotations

from pathlib import Path

import torch

from data import normalise_uint8, pad_to_multiple
from export import load
from runtime import ensure_allocator_env


def open_checkpoint(checkpoint: Path, threads: int, reexec: bool) -> tuple:
    """(model, its checkpoint state, serving long side, size multiple); `reexec` = a script's own run
    (not a test's call), which may re-execute itself with models/runtime.py's allocator settings."""
    if reexec:
        ensure_allocator_env()
    torch.set_num_threads(threads)
    net, state = load(checkpoint)
    net = net.to(memory_format=torch.channels_last)
    return net, state, int(state.get("long_side") or 320), net.cfg.size_multiple


@torch.no_grad()
def probability(net, img: torch.Tensor, multiple: int) -> torch.Tensor:
    """Person probability (H x W) for a uint8 3 x H x W photo at the size it is given."""
    x, h, w = pad_to_multiple(normalise_uint8(img)[None], multiple)
    return torch.sigmoid(net(x.contiguous(memory_format=torch.channels_last)))[0, 0, :h, :w]
