"""Looking twice for small people: the whole photo at the serving size, then again at twice the size,
merged, against the serving size alone. Set by set, on a checkpoint.

  /usr/bin/python3 models/eval_twice.py --checkpoint models/checkpoints/people320-context-best.pt \
      [--sets pfcn:val camvid:val pennfudan:val ccp:val] [--every 2] [--json]

Each photo is run at long side L (the checkpoint's) and at 2L (one pass over the whole enlarged photo:
the same arithmetic as four tiles, no seams); the 2L map is area-averaged back to L, and the two are
merged by `max` (a person found at either scale) or `mean`; `max-if-small` looks twice only where
the first look marks less than `--small` of the photo (small people, or nobody found): portraits
and full-body photos keep their first look. Dataset IoU per set at L with ignore regions left out,
as train.py validates, and the model time of each path per photo.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from datasets import load_split
from infer import open_checkpoint, probability as prob
from train import HERE, ROOT, geomean

MERGES = ("once", "twice-only", "max", "mean", "max-if-small")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--sets", nargs="+", default=["pfcn:val", "camvid:val", "pennfudan:val", "ccp:val"])
    p.add_argument("--every", type=int, default=1, help="every Nth photo of each set")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--small", type=float, default=0.05,
                   help="max-if-small: look twice when the first look marks less than this share of the photo")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    net, _, size, multiple = open_checkpoint(args.checkpoint, args.threads, argv is None)
    out = {"checkpoint": str(args.checkpoint), "longSide": size, "sets": {}}
    ms = {"once": [], "twice": []}
    for key in args.sets:
        name, split = key.split(":")
        once = load_split(args.data, name, split, size, HERE / ".cache")[::args.every]
        big = load_split(args.data, name, split, 2 * size, HERE / ".cache")[::args.every]
        acc = {m: [0, 0] for m in MERGES}
        for s1, s2 in zip(once, big):
            t0 = time.perf_counter()
            p1 = prob(net, s1.image, multiple)
            t1 = time.perf_counter()
            p2 = prob(net, s2.image, multiple)
            p2 = F.interpolate(p2[None, None], size=p1.shape, mode="area")[0, 0]
            t2 = time.perf_counter()
            ms["once"].append((t1 - t0) * 1000)
            ms["twice"].append((t2 - t0) * 1000)
            both = torch.maximum(p1, p2)
            small = (p1 > 0.5).float().mean().item() < args.small
            maps = {"once": p1, "twice-only": p2, "max": both, "mean": (p1 + p2) / 2,
                    "max-if-small": both if small else p1}
            keep = ~s1.ignore[0] if s1.ignore is not None else torch.ones_like(p1, dtype=torch.bool)
            gt = (s1.mask[0] > 127) & keep
            for m, pm in maps.items():
                pred = (pm > 0.5) & keep
                acc[m][0] += (pred & gt).sum().item()
                acc[m][1] += (pred | gt).sum().item()
        out["sets"][f"{name}/{split}"] = {m: round(i / max(u, 1), 4) for m, (i, u) in acc.items()}
        if not args.json:
            row = out["sets"][f"{name}/{split}"]
            print(f"{name}/{split} n={len(once)} " + " ".join(f"{m} {v:.3f}" for m, v in row.items()), flush=True)
    out["geomean"] = {m: round(geomean([v[m] for v in out["sets"].values()]), 4) for m in MERGES}
    out["modelMsPerPhoto"] = {k: round(float(np.median(v)), 1) for k, v in ms.items()}
    print(json.dumps(out) if args.json else f"geomean {out['geomean']}  median model ms/photo {out['modelMsPerPhoto']}")


if __name__ == "__main__":
    main()
