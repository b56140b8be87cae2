"""What a checkpoint marks on photos with nobody in them: `backgrounds/` and the empty camvid frames,
at the serving size. Prints the share of each photo marked (>= 0.5) by percentile and writes a
sheet of the most-marked photos (photo | probability) to look at.

  /usr/bin/python3 models/sheet_empty.py --checkpoint models/checkpoints/people320-context-best.pt \
      [--out models/runs/people320-context/empty-sheet.jpg] [--n 24] [--json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from datasets import load_backgrounds, load_split
from infer import open_checkpoint, probability
from train import HERE, ROOT, _grid


def resized(img: torch.Tensor, long_side: int) -> torch.Tensor:
    pil = Image.fromarray(img.permute(1, 2, 0).numpy())
    s = long_side / max(pil.size)
    return torch.from_numpy(np.asarray(pil.resize((round(pil.size[0] * s), round(pil.size[1] * s)),
                                                  Image.BILINEAR)).copy()).permute(2, 0, 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--out", type=Path, help="the sheet (default: models/runs/<run>/empty-sheet.jpg)")
    p.add_argument("--n", type=int, default=24, help="photos on the sheet (the most marked)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    net, state, size, multiple = open_checkpoint(args.checkpoint, args.threads, argv is None)
    photos = [("backgrounds", resized(b, size)) for b in load_backgrounds(args.data, HERE / ".cache")]
    for split in ("train", "val"):
        frames = load_split(args.data, "camvid", split, size, HERE / ".cache")
        photos += [(f"camvid/{split}/{s.id}", s.image) for s in frames if not (s.mask > 8).any()]
    rows = []
    for name, img in photos:
        prob = probability(net, img, multiple).numpy()
        rows.append((float((prob >= 0.5).mean()), name, img, prob))
    report = {}
    for group in ("backgrounds", "camvid"):
        shares = np.array([r[0] for r in rows if r[1].startswith(group)])
        pct = {q: round(float(np.percentile(shares, q)), 4) for q in (50, 90, 100)}
        report[group] = {"n": int(len(shares)), "markedShare": pct, "nothingMarked": int((shares == 0).sum())}
    rows.sort(key=lambda r: -r[0])
    tiles = []
    for share, name, img, prob in rows[:args.n]:
        pic = img.permute(1, 2, 0).numpy()
        pm = np.repeat((prob * 255).astype(np.uint8)[..., None], 3, 2)
        tiles.append(np.concatenate([pic, pm], 1))
    out = args.out or HERE / "runs" / state["run_config"]["name"] / "empty-sheet.jpg"
    Image.fromarray(_grid(tiles, 4)).save(out, quality=80)
    report["sheet"] = str(out)
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))


if __name__ == "__main__":
    main()
