"""Write a checkpoint's weights in half precision, for committing (the repository takes at most 6 MB
of weights a session; the widened 2.29 M-parameter model is 9.2 MB in fp32).

  /usr/bin/python3 models/slim.py --checkpoint models/checkpoints/people320-p6w-best.pt \
      --out models/checkpoints/people320-p6w-best-fp16.pt

Only the weights are kept (no optimiser, no RNG): resuming from it is a warm restart. Everything
that loads weights (train.py --init / --validate-only, export.py) casts them back to fp32, so ship
from the slim file itself and the committed weights reproduce the shipped ONNX. The largest change
in output probability on random input is printed, and the file is not written above 1e-2.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from tiramisu import Tiramisu, TiramisuConfig
from widen import max_difference

LIMIT_BYTES = 6 * 1000 * 1000
KEEP = ("model", "preset", "config", "step", "long_side", "run_config", "validation", "val_score", "widened_from",
        "averaged_from", "bn_batches")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    out = {k: state[k] for k in KEEP if k in state}
    out["model"] = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()}
    cfg = TiramisuConfig(**state["config"])
    full, half = Tiramisu(cfg), Tiramisu(cfg)
    full.load_state_dict(state["model"])
    half.load_state_dict(out["model"])
    diff = max_difference(full, half, size=256)
    if diff > 1e-2:
        raise SystemExit(f"half precision changed the output by {diff:.2e} (expected at most 1e-2): not written")
    torch.save(out, args.out)
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {size / 1e6:.1f} MB (limit {LIMIT_BYTES / 1e6:.0f} MB), largest change in output "
          f"{diff:.1e}")
    if size > LIMIT_BYTES:
        raise SystemExit(f"{args.out} is over {LIMIT_BYTES / 1e6:.0f} MB: do not commit it")


if __name__ == "__main__":
    main()
