"""Average the weights of several checkpoints of one architecture, then re-estimate batch norm.

  /usr/bin/python3 models/average.py --config models/configs/people320-p5a.json \
      --out models/checkpoints/people320-avg.pt \
      models/checkpoints/people320-p7b-best.pt models/checkpoints/people320-p8b-best.pt

Averaging the ends of successive warm restarts (stochastic weight averaging with a cyclic
schedule) can land nearer the middle of the basin they share than any one end. An average of
weights is not an average of batch-norm statistics, so every BatchNorm layer's running mean and
variance are measured again: `--bn-batches` training batches of the config's mixture and its
first phase's crop and batch, in train mode without gradients, each batch weighing the same.
`--bn-batches 0` keeps the averaged statistics instead (to compare). Measured on the ends of three
successive cosines (runs/people320-p9s/ab.md): re-estimated 0.6029, averaged 0.6002.

The output holds only weights (like models/slim.py's): score it with
`train.py --validate-only`, export it with `export.py --checkpoint`. Checkpoints of different
architectures are refused.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from runtime import ensure_allocator_env
from tiramisu import Tiramisu, TiramisuConfig
from train import ROOT, build_data, load_config, make_augmenter

KEEP = ("preset", "config", "long_side", "run_config")


def average_states(states: list[dict]) -> dict:
    """The element-wise mean of floating-point tensors; integer buffers (BN's batch count) from the first."""
    first = states[0]
    out = {}
    for key, value in first.items():
        if value.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(0)
        else:
            out[key] = value.clone()
    return out


@torch.no_grad()
def reestimate_batch_norm(model: torch.nn.Module, aug, batch: int, batches: int) -> None:
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: every batch weighs the same
    model.train()
    for _ in range(batches):
        x, _, _ = aug.batch(batch)
        model(x.contiguous(memory_format=torch.channels_last))
    model.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--config", required=True, type=Path, help="run config whose mixture re-estimates batch norm")
    p.add_argument("--bn-batches", type=int, default=100)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--cache", type=Path, default=ROOT / "models" / ".cache")
    p.add_argument("--seed", type=int, default=4321)
    args = p.parse_args()
    ensure_allocator_env()

    loaded = [torch.load(c, map_location="cpu", weights_only=False) for c in args.checkpoints]
    configs = {str(sorted(s["config"].items())) for s in loaded}
    if len(configs) != 1:
        raise SystemExit("Expected checkpoints of one architecture but their configs differ: " +
                         "; ".join(f"{c}: {s['config']}" for c, s in zip(args.checkpoints, loaded)))
    model = Tiramisu(TiramisuConfig(**loaded[0]["config"])).to(memory_format=torch.channels_last)
    model.load_state_dict(average_states([s["model"] for s in loaded]))
    if args.bn_batches:
        cfg = load_config(args.config)
        if cfg["longSide"] != loaded[0].get("long_side", cfg["longSide"]):
            raise SystemExit(f"Expected a config at the checkpoints' long side {loaded[0]['long_side']} but "
                             f"{args.config} has {cfg['longSide']}: batch norm would be measured at the wrong scale")
        t0 = time.time()
        sets, _, cutouts, backgrounds = build_data(cfg, args.data, args.cache)
        phase = cfg["phases"][0]
        aug = make_augmenter(cfg, phase, sets, cutouts, backgrounds, args.seed)
        reestimate_batch_norm(model, aug, phase["batch"], args.bn_batches)
        print(f"batch norm re-estimated on {args.bn_batches} batches of {phase['batch']} "
              f"{phase['crop']} px crops in {time.time() - t0:.0f}s", flush=True)
    out = {k: loaded[0][k] for k in KEEP if k in loaded[0]}
    out["model"] = model.state_dict()
    out["averaged_from"] = [str(c) for c in args.checkpoints]
    out["bn_batches"] = args.bn_batches
    torch.save(out, args.out)
    print(f"wrote {args.out}: the mean of {len(loaded)} checkpoints", flush=True)


if __name__ == "__main__":
    main()
