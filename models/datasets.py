"""The dataset registry: every set in ../shared/data, what it is, and how training may use it.

Adding a dataset is one entry here and one weight in a run config (models/configs/*.json).

Each labelled set is `<root>/images/<id>.jpg|png` + `<root>/masks/<id>.png` (255 = person), with an
optional `<root>/ignore/<id>.png` (255 = label unknown: left out of the loss and of every score)
and `<root>/split.json`. Sets are decoded once and cached at the training resolution (long side =
the run's `longSide`, up or down, exactly as serving resizes a photo: Pillow bilinear, sizes rounded
as Python rounds; functions/core/segmentation.ts reproduces it bit for bit), so an epoch costs tensor
ops, not JPEG decodes, and validation sees each photo as the served model does.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    dir: str
    what: str
    terms: str
    train_split: str = "train"
    val_split: Optional[str] = None
    # carve a validation slice out of `train` (every Nth id) when the set has no val split
    val_every: int = 0
    # may its people be cut out (image x mask) and pasted onto backgrounds?
    people_source: bool = True
    has_ignore: bool = False


REGISTRY: Dict[str, DatasetSpec] = {s.name: s for s in [
    DatasetSpec("ccp", "ccp", "full-body street fashion, person centred", "Apache-2.0 repo; photos from the web",
                val_every=10),
    DatasetSpec("vton", "vton", "studio half-body, plain light backgrounds", "VITON: research use only"),
    DatasetSpec("pfcn", "pfcn", "portraits and selfies, head-and-shoulders to half-body",
                "Shen et al. 2016 (CUHK): research use only, no redistribution", val_split="val"),
    DatasetSpec("camvid", "camvid", "street scenes from a car, small distant pedestrians, 50 empty frames",
                "CamVid (Brostow et al. 2008): CC BY-NC", val_split="val", people_source=False, has_ignore=True),
    DatasetSpec("pennfudan", "pennfudan", "pedestrians, mid-size, several, off-centre",
                "Penn-Fudan (Wang et al. 2007): research", val_split="val"),
    DatasetSpec("davis", "davis", "parkour video frames: odd poses, motion blur", "DAVIS 2016: research"),
    DatasetSpec("aiseg", "aiseg", "half-body portraits (alpha mattes at 128)", "AISegment matting-human: research"),
]}

# compositing material (no labels to score)
BACKGROUNDS = ("backgrounds", "person-free scenes 480x270",
               "DavidGhantarjyan/Human-Segmentation-main: no licence stated")
CUTOUTS = ("cutouts", "RGBA people 46-252 px", "DavidGhantarjyan/Human-Segmentation-main: no licence stated")


@dataclass
class Sample:
    id: str
    image: torch.Tensor  # uint8 3xHxW
    mask: torch.Tensor  # uint8 1xHxW (255 = person; soft after resize)
    ignore: Optional[torch.Tensor] = None  # bool 1xHxW (True = unknown), or None


def spec(name: str) -> DatasetSpec:
    if name not in REGISTRY:
        raise ValueError(f"Expected a dataset in {sorted(REGISTRY)} but received {name!r}")
    return REGISTRY[name]


def _find(root: Path, folder: str, i: str, exts=(".jpg", ".png", ".jpeg", ".webp")) -> Optional[Path]:
    """<root>/<folder>/<i>.<ext> for the first extension that exists (packed copies are WebP)."""
    for ext in exts:
        p = root / folder / f"{i}{ext}"
        if p.exists():
            return p
    return None


def _image_path(root: Path, i: str) -> Path:
    p = _find(root, "images", i)
    if p is None:
        raise FileNotFoundError(f"Expected {root}/images/{i}.jpg, .png or .webp but none exists")
    return p


def _resize(img: Image.Image, size: Tuple[int, int], resample) -> Image.Image:
    return img if img.size == size else img.resize(size, resample)


def load_resized(root: Path, i: str, long_side: int, with_ignore: bool) -> Sample:
    img = Image.open(_image_path(root, i)).convert("RGB")
    mask_path = _find(root, "masks", i, (".png", ".webp"))
    if mask_path is None:
        raise FileNotFoundError(f"Expected {root}/masks/{i}.png (or .webp) but neither exists")
    mask = Image.open(mask_path).convert("L")
    if img.size != mask.size:
        raise ValueError(f"Expected mask {mask_path} of size {img.size} but received {mask.size}")
    w, h = img.size
    scale = long_side / max(w, h)  # as served: small photos are enlarged too
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    t_img = torch.from_numpy(np.asarray(_resize(img, size, Image.BILINEAR)).copy()).permute(2, 0, 1).contiguous()
    t_mask = torch.from_numpy(np.asarray(_resize(mask, size, Image.BILINEAR)).copy())[None].contiguous()
    ign = None
    ign_path = _find(root, "ignore", i, (".png", ".webp")) if with_ignore else None
    if ign_path is not None:
        g = _resize(Image.open(ign_path).convert("L"), size, Image.BILINEAR)
        ign = torch.from_numpy(np.asarray(g) > 0)[None].contiguous()
    return Sample(i, t_img, t_mask, ign)


def split_ids(data: Path, s: DatasetSpec) -> Dict[str, List[str]]:
    """`train` and (where the set has one) `val` ids. A carved slice (val_every) is removed from train."""
    with open(data / s.dir / "split.json") as f:
        splits = json.load(f)
    train = sorted(splits[s.train_split])
    out = {"train": train}
    if s.val_split:
        out["val"] = sorted(splits[s.val_split])
    elif s.val_every:
        val = train[::s.val_every]
        held = set(val)
        out = {"train": [i for i in train if i not in held], "val": val}
    return out


def load_split(data: Path, name: str, split: str, long_side: int, cache_dir: Path) -> List[Sample]:
    s = spec(name)
    ids = split_ids(data, s).get(split)
    if ids is None:
        raise ValueError(f"Expected a split in {sorted(split_ids(data, s))} for {name} but received {split!r}")
    cache = cache_dir / f"{name}-{split}-{long_side}-served.pt"
    if cache.exists():
        stored = torch.load(cache, weights_only=False)
        if [d[0] for d in stored] == ids:
            return [Sample(*d) for d in stored]
    samples = [load_resized(data / s.dir, i, long_side, s.has_ignore) for i in ids]
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save([(x.id, x.image, x.mask, x.ignore) for x in samples], cache)
    return samples


def load_cutouts(data: Path, cache_dir: Path) -> List[Sample]:
    """`cutouts/images/*.png` (or .webp; RGBA) as samples whose mask is the alpha channel."""
    cache = cache_dir / "cutouts.pt"
    root = data / CUTOUTS[0] / "images"
    names = sorted(p.name for p in root.iterdir() if p.suffix.lower() in (".png", ".webp"))  # RGBA
    if cache.exists():
        stored = torch.load(cache, weights_only=False)
        if [d[0] for d in stored] == names:
            return [Sample(*d) for d in stored]
    out = []
    for n in names:
        a = np.asarray(Image.open(root / n).convert("RGBA"))
        out.append((n, torch.from_numpy(a[..., :3].copy()).permute(2, 0, 1).contiguous(),
                    torch.from_numpy(a[..., 3].copy())[None].contiguous(), None))
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save(out, cache)
    return [Sample(*d) for d in out]


def load_backgrounds(data: Path, cache_dir: Path) -> List[torch.Tensor]:
    cache = cache_dir / "backgrounds.pt"
    root = data / BACKGROUNDS[0] / "images"
    names = sorted(p.name for p in root.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    if cache.exists():
        stored = torch.load(cache, weights_only=False)
        if stored["names"] == names:
            return stored["images"]
    imgs = [torch.from_numpy(np.asarray(Image.open(root / n).convert("RGB")).copy()).permute(2, 0, 1).contiguous()
            for n in names]
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"names": names, "images": imgs}, cache)
    return imgs
