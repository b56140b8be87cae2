"""Training speed, side by side: crops/s and where a step's time goes, for several recipes in one run.

  /usr/bin/python3 models/bench_train.py [--config models/configs/people320.json] [--steps 8] [--rounds 2] [--json]
  /usr/bin/python3 models/bench_train.py --allocator [--rounds 2]   # glibc malloc as is vs kept memory

Every variant runs with freed memory kept in the process (models/runtime.py); `--allocator` compares
that with glibc's default, one child process per round and setting, interleaved.

Variants are interleaved (A B C A B C ...) so that a busy machine hurts them alike; medians per
variant. `previous` is the recipe of the ccp+vton model (192 px crops, batch 8, bf16 autocast,
the old augmenter's cost is approximated by the new one's).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from train import HERE, ROOT, LossOptions, build_data, load_config, make_augmenter, time_steps
from runtime import KEEP_FREED_MEMORY, ensure_allocator_env
from tiramisu import Tiramisu, preset

VARIANTS = {
    "previous: 192 px, batch 8, bf16": {"crop": 192, "batch": 8, "bf16": True},
    "192 px, batch 8, fp32": {"crop": 192, "batch": 8, "bf16": False},
    "192 px, batch 8, fp32, NCHW": {"crop": 192, "batch": 8, "bf16": False, "channelsLast": False},
    "192 px, batch 8, fp32, 1 thread": {"crop": 192, "batch": 8, "bf16": False, "threads": 1},
    "192 px, batch 16, fp32": {"crop": 192, "batch": 16, "bf16": False},
    "cheap phase: 128 px, batch 16, fp32": {"crop": 128, "batch": 16, "bf16": False},
}
# a variant's defaults: channels_last (NHWC) activations and weights, every thread --threads allows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=HERE / "configs" / "people320.json")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.add_argument("--allocator", action="store_true", help="compare glibc's malloc as is with kept memory")
    p.add_argument("--only", help="time just this variant (used by --allocator's children)")
    p.add_argument("--system-allocator", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.allocator:
        return compare_allocators(args)
    ensure_allocator_env(not args.system_allocator)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    sets, _, cutouts, backgrounds = build_data({**cfg, "validation": {"sets": []}}, args.data, HERE / ".cache")
    model = Tiramisu(preset(cfg["preset"]))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    variants = {k: v for k, v in VARIANTS.items() if not args.only or k == args.only}
    augs = {k: make_augmenter(cfg, {**cfg["phases"][0], "crop": v["crop"]}, sets, cutouts, backgrounds, 1)
            for k, v in variants.items()}
    acc = {k: {"data": [], "forward": [], "backward": [], "optimiser": []} for k in variants}
    loss_opts = LossOptions.of(cfg)
    for _ in range(args.rounds):
        for k, v in variants.items():
            fmt = torch.channels_last if v.get("channelsLast", True) else torch.contiguous_format
            model.to(memory_format=fmt)
            torch.set_num_threads(v.get("threads", args.threads))
            for part, ts in time_steps(model, opt, augs[k], v["batch"], v["bf16"], loss_opts, args.steps, fmt).items():
                acc[k][part] += ts
    out = {}
    for k, v in variants.items():
        med = {part: float(np.median(ts)) for part, ts in acc[k].items()}
        step_s = sum(med.values())
        out[k] = {"cropsPerS": round(v["batch"] / step_s, 2),
                  "msPerStep": {part: round(s * 1000, 1) for part, s in med.items()},
                  "share": {part: round(s / step_s, 3) for part, s in med.items()}}
    base = out[next(iter(variants))]["cropsPerS"]
    for k in out:
        out[k]["vsPrevious"] = round(out[k]["cropsPerS"] / base, 2)
        if not args.json:
            print(f"{k:36s} {out[k]['cropsPerS']:6.2f} crops/s  x{out[k]['vsPrevious']:.2f}  " +
                  " ".join(f"{part} {ms:.0f} ms" for part, ms in out[k]["msPerStep"].items()))
    if args.json:
        print(json.dumps({"threads": args.threads, "steps": args.steps, "rounds": args.rounds, "variants": out}))


def compare_allocators(args) -> None:
    """The 192 px fp32 and bf16 recipes with glibc's malloc as is and with KEEP_FREED_MEMORY, each
    in its own child process (glibc reads the settings at start-up), interleaved round by round."""
    base_env = {k: v for k, v in os.environ.items() if k not in KEEP_FREED_MEMORY}
    settings = {"glibc default": (base_env, ["--system-allocator"]),
                "kept memory": ({**base_env, **KEEP_FREED_MEMORY}, [])}
    recipes = ["192 px, batch 8, fp32", "previous: 192 px, batch 8, bf16"]
    rates = {(r, s): [] for r in recipes for s in settings}
    for _ in range(args.rounds):
        for r in recipes:
            for s, (env, extra) in settings.items():
                cmd = [sys.executable, __file__, "--config", str(args.config), "--steps", str(args.steps),
                       "--rounds", "1", "--threads", str(args.threads), "--json", "--only", r, *extra]
                res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                rates[(r, s)].append(json.loads(res.stdout.strip().splitlines()[-1])["variants"][r]["cropsPerS"])
    out = {r: {s: float(np.median(rates[(r, s)])) for s in settings} for r in recipes}
    for r in recipes:
        out[r]["ratio"] = round(out[r]["kept memory"] / out[r]["glibc default"], 2)
    if args.json:
        print(json.dumps({"threads": args.threads, "steps": args.steps, "rounds": args.rounds, "cropsPerS": out}))
    else:
        for r, v in out.items():
            print(f"{r:36s} glibc default {v['glibc default']:5.2f}  kept memory {v['kept memory']:5.2f} crops/s  "
                  f"x{v['ratio']:.2f}")


if __name__ == "__main__":
    main()
