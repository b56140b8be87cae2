"""What the serving resolution buys, set by set: one checkpoint evaluated at several long sides.

  /usr/bin/python3 models/eval_sizes.py --checkpoint models/checkpoints/people480-best.pt \
      --sizes 320 384 480 512 [--sets pfcn:val camvid:val pennfudan:val ccp:val] [--json]

Dataset IoU per validation set (ignore regions left out) and the model's median ms per photo, in
PyTorch on this machine (fp32, channels-last). `ccp:val` is the slice carved out of ccp/train: the
test split is for the report only (`greenscreen eval ../shared/data/ccp:test`).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from datasets import load_split
from export import load
from train import HERE, ROOT, geomean, validate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--sizes", type=int, nargs="+", default=[320, 384, 480, 512])
    p.add_argument("--sets", nargs="+", default=["pfcn:val", "camvid:val", "pennfudan:val", "ccp:val"])
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, _ = load(args.checkpoint)
    net = net.to(memory_format=torch.channels_last)
    multiple = net.cfg.size_multiple
    rows = {}
    for size in args.sizes:
        val = {}
        for key in args.sets:
            name, split = key.split(":")
            val[f"{name}/{split}"] = load_split(args.data, name, split, size, HERE / ".cache")
        t0 = time.perf_counter()
        scores, _ = validate(net, val, multiple, "cpu", False)
        n = sum(len(v) for v in val.values())
        ms = (time.perf_counter() - t0) * 1000 / n
        rows[size] = {"sets": {k: round(v["datasetIoU"], 4) for k, v in scores.items()},
                      "geomean": round(geomean([v["datasetIoU"] for v in scores.values()]), 4),
                      "msPerPhoto": round(ms, 1)}
        if not args.json:
            print(f"long side {size}: " + " ".join(f"{k} {v:.3f}" for k, v in rows[size]["sets"].items()) +
                  f" geomean {rows[size]['geomean']:.3f} {ms:.0f} ms/photo", flush=True)
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "sizes": rows}))


if __name__ == "__main__":
    main()
