"""Training data: decode + resize once into a cache, then cheap tensor augmentation per sample.

Images are cached at the serving scale (long side = `long_side`), so random crops show people at
the size the served model sees them, for a fraction of the cost of whole photos.
"""
from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@dataclass
class Sample:
    id: str
    image: torch.Tensor  # uint8 3xHxW
    mask: torch.Tensor  # uint8 1xHxW (soft after resize)


def _load_resized(img_path: Path, mask_path: Path, long_side: int) -> Tuple[torch.Tensor, torch.Tensor]:
    img = Image.open(img_path).convert("RGB")
    mask = Image.open(mask_path).convert("L")
    if img.size != mask.size:
        raise ValueError(f"Expected mask {mask_path} of size {img.size} but received {mask.size}")
    w, h = img.size
    scale = long_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = img.resize(size, Image.BILINEAR, reducing_gap=None) if scale < 1 else img.resize(size, Image.BILINEAR)
    mask = mask.resize(size, Image.BILINEAR)
    t_img = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).contiguous()
    t_mask = torch.from_numpy(np.asarray(mask).copy())[None].contiguous()
    return t_img, t_mask


def load_set(root: Path, ids: List[str], long_side: int, cache_dir: Path, tag: str) -> List[Sample]:
    cache = cache_dir / f"{tag}-{long_side}.pt"
    if cache.exists():
        data = torch.load(cache)
        if [d[0] for d in data] == ids:
            return [Sample(*d) for d in data]
    data = []
    for i in ids:
        img, mask = _load_resized(root / "images" / f"{i}.jpg", root / "masks" / f"{i}.png", long_side)
        data.append((i, img, mask))
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save(data, cache)
    return [Sample(*d) for d in data]


def splits(root: Path) -> dict:
    with open(root / "split.json") as f:
        return json.load(f)


def train_val_ids(ccp_root: Path, val_every: int = 10) -> Tuple[List[str], List[str]]:
    """Validation is carved out of `train` (every 10th id); `test` is never touched here."""
    ids = sorted(splits(ccp_root)["train"])
    val = ids[::val_every]
    val_set = set(val)
    return [i for i in ids if i not in val_set], val


def background_strips(samples: List[Sample], min_width: int = 40) -> List[torch.Tensor]:
    """Person-free vertical strips of street photos, used as backdrops for composited studio people."""
    out = []
    for s in samples:
        cols = (s.mask[0] > 8).any(0)
        free = (~cols).nonzero().flatten().tolist()
        if not free:
            continue
        run = [free[0]]
        for c in free[1:] + [-10]:
            if c == run[-1] + 1:
                run.append(c)
                continue
            if len(run) >= min_width:
                out.append(s.image[:, :, run[0]:run[-1] + 1].clone())
            run = [c]
    return out


class Augmenter:
    """Portrait/selfie-oriented augmentation on uint8 tensors; returns normalised float crops."""

    def __init__(self, ccp: List[Sample], vton: List[Sample], crop: int, seed: int, vton_p: float = 0.3,
                 upper_body_p: float = 0.3):
        self.ccp, self.vton, self.crop, self.vton_p = ccp, vton, crop, vton_p
        self.upper_body_p = upper_body_p
        self.rng = random.Random(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.backgrounds = background_strips(ccp)
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    # -- backgrounds for compositing --------------------------------------------------------
    def _synthetic_background(self, h: int, w: int) -> torch.Tensor:
        r = self.rng
        kind = r.random()
        if kind < 0.5 and self.backgrounds:
            strip = r.choice(self.backgrounds).float()
            bg = F.interpolate(strip[None], size=(h, w), mode="bilinear", align_corners=False)[0]
            if r.random() < 0.5:
                bg = bg.flip(-1)
            return bg
        # gradient + blotches + noise: rooms, walls, skies, bokeh
        c0 = torch.tensor([r.uniform(0, 255) for _ in range(3)]).view(3, 1, 1)
        c1 = torch.tensor([r.uniform(0, 255) for _ in range(3)]).view(3, 1, 1)
        t = torch.linspace(0, 1, h).view(1, h, 1) if r.random() < 0.5 else torch.linspace(0, 1, w).view(1, 1, w)
        bg = (c0 * (1 - t) + c1 * t).expand(3, h, w).clone()
        low = torch.rand(1, 3, max(2, h // 32), max(2, w // 32), generator=self.gen) * 255
        low = F.interpolate(low, size=(h, w), mode="bicubic", align_corners=False)[0]
        a = r.uniform(0.0, 0.6)
        return (bg * (1 - a) + low * a).clamp(0, 255)

    def _composite_vton(self) -> Tuple[torch.Tensor, torch.Tensor]:
        s = self.rng.choice(self.vton)
        img, m = s.image.float(), s.mask.float() / 255
        _, h, w = img.shape
        bg = self._synthetic_background(h, w)
        # soften the hard label edge a little so the paste leaves no halo
        alpha = F.avg_pool2d(m[None], 3, 1, 1, count_include_pad=False)[0]
        return img * alpha + bg * (1 - alpha), m * 255

    # -- geometry -----------------------------------------------------------------------------
    def _scale_crop(self, img: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        r, c = self.rng, self.crop
        _, h, w = img.shape
        upper_body = r.random() < self.upper_body_p
        s = math.exp(r.uniform(math.log(1.2), math.log(2.4))) if upper_body else \
            math.exp(r.uniform(math.log(0.55), math.log(1.5)))
        nh, nw = max(8, round(h * s)), max(8, round(w * s))
        x = torch.cat([img, mask], 0)[None]
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=s < 1)[0]
        # pad to at least the crop with a flat colour (mask 0)
        ph, pw = max(0, c - nh), max(0, c - nw)
        if ph or pw:
            fill = torch.zeros(4, nh + ph, nw + pw)
            fill[:3] = torch.tensor([r.uniform(0, 255) for _ in range(3)]).view(3, 1, 1)
            oy, ox = r.randint(0, ph), r.randint(0, pw)
            fill[:, oy:oy + nh, ox:ox + nw] = x
            x, nh, nw = fill, nh + ph, nw + pw
        if upper_body:
            ys, xs = (x[3] > 127).nonzero(as_tuple=True)
            if len(ys):
                top = ys.min().item()
                cy = top + r.uniform(-0.15, 0.35) * c
                cx = xs.float().mean().item() + r.uniform(-0.25, 0.25) * c
                y0 = int(min(max(0, cy - c * 0.3), nh - c))
                x0 = int(min(max(0, cx - c / 2), nw - c))
            else:
                y0, x0 = r.randint(0, nh - c), r.randint(0, nw - c)
        else:
            y0, x0 = r.randint(0, nh - c), r.randint(0, nw - c)
        x = x[:, y0:y0 + c, x0:x0 + c]
        if r.random() < 0.5:
            x = x.flip(-1)
        return x[:3], x[3:]

    # -- photometric --------------------------------------------------------------------------
    def _photometric(self, img: torch.Tensor) -> torch.Tensor:
        r = self.rng
        img = img / 255
        if r.random() < 0.2:  # low light
            img = img * r.uniform(0.2, 0.5)
        else:
            img = img * r.uniform(0.7, 1.3)
        mean = img.mean()
        img = (img - mean) * r.uniform(0.7, 1.3) + mean  # contrast
        grey = img.mean(0, keepdim=True)
        img = (img - grey) * r.uniform(0.5, 1.4) + grey  # saturation
        img = img * torch.tensor([r.uniform(0.9, 1.1) for _ in range(3)]).view(3, 1, 1)  # white balance
        if r.random() < 0.2:
            k = r.choice([3, 5])
            img = F.avg_pool2d(img[None], k, 1, k // 2, count_include_pad=False)[0]
        if r.random() < 0.3:
            img = img + torch.randn(img.shape, generator=self.gen) * r.uniform(0.01, 0.06)
        return img.clamp(0, 1)

    def sample(self) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.vton and self.rng.random() < self.vton_p:
            img, mask = self._composite_vton()
        else:
            s = self.rng.choice(self.ccp)
            img, mask = s.image.float(), s.mask.float()
        img, mask = self._scale_crop(img, mask)
        img = self._photometric(img)
        return (img - self.mean) / self.std, mask / 255

    def batch(self, n: int) -> Tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*(self.sample() for _ in range(n)))
        return torch.stack(xs), torch.stack(ys)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> Tuple[torch.Tensor, int, int]:
    """Pad bottom/right with zeros (= the mean colour after normalisation), as the serving code does."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph)), h, w


def normalise_uint8(img: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    return (img.float() / 255 - mean) / std
