"""Widen a trained Tiramisu to a larger growth rate without changing what it computes.

  /usr/bin/python3 models/widen.py --checkpoint models/checkpoints/people320-p5a-best.pt \
      --growth-rate 16 --out models/checkpoints/people320-w16-init.pt

Every dense layer keeps its trained filters and gains `new - old` filters of its own. Those new
channels flow on, through the concatenations, transitions and skips, to every later layer; each
consumer's weights on them start at zero, so the widened network returns the same probabilities
as the narrow one (checked here on random input before anything is written). Training then grows
the zero weights (their gradients are not zero), and the new filters start learning one step
later. This is a warm start for a wider model at the cost of no training time, where starting
the wider preset from scratch would throw away every step the narrow one has taken.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn as nn

from tiramisu import DenseBlock, Tiramisu, TiramisuConfig, count_parameters


def _copy_bn(old: nn.BatchNorm2d, new: nn.BatchNorm2d, in_map: list[int]) -> None:
    idx = torch.tensor(in_map)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(new, name).data[idx] = getattr(old, name).data
    new.num_batches_tracked.data.copy_(old.num_batches_tracked.data)


def _copy_conv(old: nn.Module, new: nn.Module, in_map: list[int], out_map: list[int],
               transposed: bool = False) -> None:
    """Old filters land at `out_map`; weights from channels outside `in_map` are zero in every
    filter (those inputs are new); the new filters keep their fresh initialisation."""
    w_new, w_old = new.weight.data, old.weight.data
    if transposed:  # ConvTranspose2d stores (in, out, kh, kw)
        w_new, w_old = w_new.transpose(0, 1), w_old.transpose(0, 1)
    fresh = torch.ones(w_new.shape[1], dtype=torch.bool)
    fresh[torch.tensor(in_map)] = False
    w_new[:, fresh] = 0
    w_new[torch.tensor(out_map)[:, None], torch.tensor(in_map)[None, :]] = w_old
    if getattr(old, "bias", None) is not None:
        new.bias.data[torch.tensor(out_map)] = old.bias.data


def _widen_block(old: DenseBlock, new: DenseBlock, in_map: list[int], in_new: int,
                 k_old: int, k_new: int) -> list[int]:
    """Copies one dense block; returns where the old block's output channels sit in the new one."""
    grown = list(in_map)
    made = []
    for i, (lo, ln) in enumerate(zip(old.layers, new.layers)):
        _copy_bn(lo[0], ln[0], grown)
        out_map = list(range(k_old))
        _copy_conv(lo[2], ln[2], grown, out_map)
        placed = [in_new + i * k_new + c for c in range(k_old)]
        grown += placed
        made += [i * k_new + c for c in range(k_old)]
    return made if new.new_only else grown


def widen(old: Tiramisu, growth_rate: int) -> Tiramisu:
    cfg_old = old.cfg
    if growth_rate < cfg_old.growth_rate:
        raise ValueError(f"Expected a growth rate of at least {cfg_old.growth_rate} but received {growth_rate}")
    cfg = replace(cfg_old, growth_rate=growth_rate)
    new = Tiramisu(cfg)
    k0, k1 = cfg_old.growth_rate, growth_rate
    new.stem.load_state_dict(old.stem.state_dict())
    ch_map, ch_new = list(range(cfg.stem_channels)), cfg.stem_channels
    skips = []
    for bo, bn, to, tn in zip(old.down_blocks, new.down_blocks, old.transitions_down, new.transitions_down):
        ch_map = _widen_block(bo, bn, ch_map, ch_new, k0, k1)
        ch_new = bn.out_channels
        skips.append((ch_map, ch_new))
        _copy_bn(to[0], tn[0], ch_map)
        _copy_conv(to[2], tn[2], ch_map, ch_map)  # the transition's outputs keep their places
    ch_map = _widen_block(old.bottleneck, new.bottleneck, ch_map, ch_new, k0, k1)
    ch_new = new.bottleneck.out_channels
    for uo, un, bo, bn in zip(old.transitions_up, new.transitions_up, old.up_blocks, new.up_blocks):
        _copy_conv(uo.up, un.up, ch_map, ch_map, transposed=True)
        skip_map, skip_new = skips.pop()
        ch_map, ch_new = ch_map + [ch_new + c for c in skip_map], ch_new + skip_new
        ch_map = _widen_block(bo, bn, ch_map, ch_new, k0, k1)
        ch_new = bn.out_channels
    _copy_bn(old.head[0], new.head[0], ch_map)
    _copy_conv(old.head[2], new.head[2], ch_map, list(range(cfg.out_channels)))
    return new


def max_difference(a: Tiramisu, b: Tiramisu, size: int = 128, seed: int = 0) -> float:
    a.eval()
    b.eval()
    x = torch.randn(2, a.cfg.in_channels, size, size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return float((torch.sigmoid(a(x)) - torch.sigmoid(b(x))).abs().max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--growth-rate", required=True, type=int)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    old = Tiramisu(TiramisuConfig(**state["config"]))
    old.load_state_dict(state["model"])
    torch.manual_seed(0)
    new = widen(old, args.growth_rate)
    diff = max_difference(old, new)
    if diff > 1e-5:
        raise SystemExit(f"widening changed the output by {diff:.2e} (expected at most 1e-5): not written")
    out = {k: v for k, v in state.items() if k not in ("optimizer", "rng", "scheduler")}
    out.update(model=new.state_dict(), config=new.cfg.to_dict(), widened_from=str(args.checkpoint))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, args.out)
    print(f"{count_parameters(old):,} -> {count_parameters(new):,} parameters (growth rate "
          f"{old.cfg.growth_rate} -> {new.cfg.growth_rate}); largest change in output {diff:.1e}; wrote {args.out}")


if __name__ == "__main__":
    main()
