"""Training speed, side by side: crops/s and where a step's time goes, for several recipes in one run.

  /usr/bin/python3 models/bench_train.py [--config models/configs/people480.json] [--steps 8] [--rounds 2] [--json]

Variants are interleaved (A B C A B C ...) so that a busy machine hurts them alike; medians per
variant. `previous` is the recipe of the ccp+vton model (192 px crops, batch 8, bf16 autocast,
the old augmenter's cost is approximated by the new one's).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import HERE, ROOT, build_data, load_config, make_augmenter, time_steps  # noqa: E402
from tiramisu import Tiramisu, preset  # noqa: E402

VARIANTS = {
    "previous: 192 px, batch 8, bf16": {"crop": 192, "batch": 8, "bf16": True},
    "192 px, batch 8, fp32": {"crop": 192, "batch": 8, "bf16": False},
    "192 px, batch 16, fp32": {"crop": 192, "batch": 16, "bf16": False},
    "phase 1: 160 px, batch 12, fp32": {"crop": 160, "batch": 12, "bf16": False},
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=HERE / "configs" / "people480.json")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    sets, _, cutouts, backgrounds = build_data({**cfg, "validation": {"sets": []}}, args.data, HERE / ".cache")
    model = Tiramisu(preset(cfg["preset"])).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    augs = {k: make_augmenter(cfg, {**cfg["phases"][0], "crop": v["crop"]}, sets, cutouts, backgrounds, 1)
            for k, v in VARIANTS.items()}
    acc = {k: {"data": [], "forward": [], "backward": [], "optimiser": []} for k in VARIANTS}
    for _ in range(args.rounds):
        for k, v in VARIANTS.items():
            for part, ts in time_steps(model, opt, augs[k], v["batch"], v["bf16"], 1.0, args.steps).items():
                acc[k][part] += ts
    out = {}
    for k, v in VARIANTS.items():
        med = {part: float(np.median(ts)) for part, ts in acc[k].items()}
        step_s = sum(med.values())
        out[k] = {"cropsPerS": round(v["batch"] / step_s, 2),
                  "msPerStep": {part: round(s * 1000, 1) for part, s in med.items()},
                  "share": {part: round(s / step_s, 3) for part, s in med.items()}}
    base = out[next(iter(VARIANTS))]["cropsPerS"]
    for k in out:
        out[k]["vsPrevious"] = round(out[k]["cropsPerS"] / base, 2)
        if not args.json:
            print(f"{k:36s} {out[k]['cropsPerS']:6.2f} crops/s  x{out[k]['vsPrevious']:.2f}  " +
                  " ".join(f"{part} {ms:.0f} ms" for part, ms in out[k]["msPerStep"].items()))
    if args.json:
        print(json.dumps({"threads": args.threads, "steps": args.steps, "rounds": args.rounds, "variants": out}))


if __name__ == "__main__":
    main()
