"""Pack ../shared/data for a GPU machine: what training reads, at the serving size, in the same layout,
small enough to travel with the working tree (the device tool carries 64 MiB in all). Git-ignored:
the photos are never committed.

  /usr/bin/python3 models/pack_data.py [--long-side 320] [--quality 65] [--every vton=4] [--out models/.pack/data]

Photos larger than the long side are resized exactly as training's cache resizes them
(models/datasets.py: Pillow bilinear), smaller ones are kept at their size (the cache enlarges them
from the same pixels), and stored as WebP at --quality; masks, ignore maps and the RGBA cut-outs as
lossless WebP. So `train.py --data models/.pack/data` builds the same cache, less the lossy
re-encoding. The ccp test split is left out (training never reads it); `--every SET=N` keeps every
Nth training photo of a set (its split.json says which). Prints the pack's size.
models/gpu_train.sh is the script that uses it.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from PIL import Image

from datasets import BACKGROUNDS, CUTOUTS, REGISTRY, _find, _image_path, split_ids
from train import ROOT

HERE = Path(__file__).resolve().parent


def shrunk(img: Image.Image, long_side: int) -> Image.Image:
    w, h = img.size
    if max(w, h) <= long_side:
        return img
    scale = long_side / max(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)


def pack_set(data: Path, name: str, dst: Path, long_side: int, quality: int, every: int) -> int:
    s = REGISTRY[name]
    src = data / s.dir
    splits = split_ids(data, s)
    train = splits["train"][::every]
    if s.val_every:  # a slice carved out of train: keep the ids train.py carves, under the source split's name
        kept = {s.train_split: sorted(train + splits["val"])}
    else:
        kept = {s.train_split: train, **({s.val_split: splits["val"]} if s.val_split else {})}
    for sub in ("images", "masks", "ignore"):
        (dst / sub).mkdir(parents=True, exist_ok=True)
    ids = sorted({i for v in kept.values() for i in v})
    for i in ids:
        shrunk(Image.open(_image_path(src, i)).convert("RGB"), long_side).save(
            dst / "images" / f"{i}.webp", quality=quality, method=4)
        shrunk(Image.open(src / "masks" / f"{i}.png").convert("L"), long_side).save(
            dst / "masks" / f"{i}.webp", lossless=True, method=6)
        ign = _find(src, "ignore", i, (".png",))
        if ign is not None:
            shrunk(Image.open(ign).convert("L"), long_side).save(dst / "ignore" / f"{i}.webp", lossless=True, method=6)
    (dst / "split.json").write_text(json.dumps(kept))
    return len(ids)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--out", type=Path, default=HERE / ".pack" / "data")
    p.add_argument("--long-side", type=int, default=320)
    p.add_argument("--quality", type=int, default=65)
    p.add_argument("--every", nargs="*", default=["vton=4"], metavar="SET=N",
                   help="keep every Nth training photo of SET (default: vton=4, the studio set)")
    args = p.parse_args(argv)
    every = {k: int(v) for k, v in (e.split("=") for e in args.every)}
    if args.out.exists():
        shutil.rmtree(args.out)
    for name, s in REGISTRY.items():
        n = pack_set(args.data, name, args.out / s.dir, args.long_side, args.quality, every.get(name, 1))
        print(f"{name}: {n} photos", flush=True)
    bg = args.out / BACKGROUNDS[0] / "images"
    bg.mkdir(parents=True)
    for f in sorted((args.data / BACKGROUNDS[0] / "images").iterdir()):
        Image.open(f).convert("RGB").save(bg / f"{f.stem}.webp", quality=args.quality, method=4)
    cut = args.out / CUTOUTS[0] / "images"
    cut.mkdir(parents=True)
    for f in sorted((args.data / CUTOUTS[0] / "images").glob("*.png")):
        Image.open(f).convert("RGBA").save(cut / f"{f.stem}.webp", lossless=True, method=6)
    total = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"packed {args.out}: {total / 2**20:.1f} MiB (the device tool carries at most 64 MiB with the tree)")


if __name__ == "__main__":
    main()
