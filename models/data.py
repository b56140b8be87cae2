"""Training samples: a mixture of labelled sets, composited scenes and person-free crops.

Everything is decoded once (models/datasets.py caches each set at the serving scale); a sample is
cheap tensor work: pick a source by the run config's mixture weights, scale and crop, photometric
jitter, normalise. Each sample carries a weight map (0 where the label is unknown: `ignore/`).

Sources (the keys of a config's `mixture`):
  <set name>   a photo of that set (registry name), random scale/crop/flip
  <set>@<N>x   a photo of that set decoded at N times the serving size (N = 2-4) and drawn at 1-3x
               the serving scale: small people seen larger, with real pixels, as a second look at
               a larger scale sees them (`zoom_of`)
  composite    1-4 people (cut out of the labelled sets with their masks, plus `cutouts/`) pasted
               onto a person-free backdrop, from a few percent of the frame's height to
               head-and-shoulders crops that leave the frame, anywhere in it, colour/blur matched
  empty        a person-free crop (backgrounds/, empty camvid frames, person-free strips of ccp)
  context      hard negatives in real context: a labelled photo (of `contextSources`) at its own
               scale, cropped where it holds the fewest person pixels (pavement, walls, foliage
               beside people), labels kept as they are

`shadeP` (run config, default 0): the share of crops, of any source, that get a building's shadow
over part of the frame (`Augmenter._shade`) before the photometric jitter.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from datasets import Sample

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

# mixture keys that are not a dataset of the registry
SYNTHETIC_SOURCES = ("composite", "empty", "context")

# sets whose people are centred full-body: crops may zoom on the upper body (portrait framing)
FULL_BODY = {"ccp", "vton", "davis", "pennfudan"}
# sets whose people are cut by the frame's bottom edge (head-and-shoulders): pasted bottom-anchored
HALF_BODY = {"pfcn", "aiseg", "vton"}

ZOOM_KEY = re.compile(r"^(?P<name>[a-z0-9_]+)@(?P<n>[2-4])x$")


def zoom_of(key: str) -> Optional[Tuple[str, int]]:
    """`camvid@2x` -> ("camvid", 2): the set, and the multiple of the serving size it is decoded at."""
    m = ZOOM_KEY.match(key)
    return (m["name"], int(m["n"])) if m else None


@dataclass
class Person:
    image: torch.Tensor  # float 3xhxw (tight box around the person)
    alpha: torch.Tensor  # float 1xhxw in [0, 1]
    half_body: bool


def background_strips(samples: List[Sample], min_width: int = 40) -> List[torch.Tensor]:
    """Person-free vertical strips of street photos (columns the mask never touches)."""
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


def people_of(samples: List[Sample], half_body: bool, min_px: int = 24) -> List[Person]:
    """Each labelled photo's people as one cut-out: the mask's tight box, alpha = mask."""
    out = []
    for s in samples:
        m = s.mask[0] > 127
        if s.ignore is not None and s.ignore.any():
            continue  # an unknown region next to a person would be pasted as background
        ys, xs = m.nonzero(as_tuple=True)
        if len(ys) < min_px * min_px // 4:
            continue
        y0, y1, x0, x1 = ys.min().item(), ys.max().item() + 1, xs.min().item(), xs.max().item() + 1
        if y1 - y0 < min_px:
            continue
        out.append(Person(s.image[:, y0:y1, x0:x1], s.mask[:, y0:y1, x0:x1], half_body))
    return out


class Augmenter:
    """Draws training crops from a mixture of sources; see the module doc."""

    def __init__(self, sets: Dict[str, List[Sample]], mixture: Dict[str, float], crop: int, seed: int,
                 cutouts: List[Sample], backgrounds: List[torch.Tensor], people_sources: List[str],
                 upper_body_p: float = 0.25, person_centred_p: float = 0.5,
                 context_sources: Optional[List[str]] = None, shade_p: float = 0.0):
        unknown = set(mixture) - set(sets) - set(SYNTHETIC_SOURCES)
        if unknown:
            raise ValueError(f"Expected mixture keys among {sorted(set(sets) | set(SYNTHETIC_SOURCES))} "
                             f"but received {sorted(unknown)}")
        self.context_sources = [n for n in (context_sources or ["pennfudan", "camvid", "ccp", "pfcn"]) if n in sets]
        if mixture.get("context", 0) > 0 and not self.context_sources:
            raise ValueError("Expected at least one loaded set among contextSources for the 'context' source "
                             f"but the run loads only {sorted(sets)}")
        self.sets, self.crop = sets, crop
        self.sources = [k for k, w in mixture.items() if w > 0]
        self.weights = [mixture[k] for k in self.sources]
        self.upper_body_p, self.person_centred_p = upper_body_p, person_centred_p
        self.rng = random.Random(seed)
        self.gen = torch.Generator().manual_seed(seed)
        # shade draws from its own stream, so a run with shade sees the same crops as one without
        self.shade_p, self.shade_rng = shade_p, random.Random(seed + 0x5AD3)
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)
        # compositing material
        self.people: List[Person] = [Person(c.image, c.mask, False) for c in cutouts]
        for name in people_sources:
            self.people += people_of(sets[name], name in HALF_BODY)
        self.backdrops: List[Tuple[torch.Tensor, Optional[torch.Tensor]]] = [(b, None) for b in backgrounds]
        for name, samples in sets.items():
            if zoom_of(name):
                continue  # the same frames as the set's own, larger
            for s in samples:
                if (s.mask > 8).any():
                    continue  # not person-free
                self.backdrops.append((s.image, s.ignore))
        self.backdrops += [(b, None) for b in background_strips(sets.get("ccp", []))]

    # -- helpers ----------------------------------------------------------------------------
    def _u(self, a: float, b: float) -> float:
        return self.rng.uniform(a, b)

    def _logu(self, a: float, b: float) -> float:
        return math.exp(self.rng.uniform(math.log(a), math.log(b)))

    @staticmethod
    def _resize(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        shrink = h < x.shape[-2] or w < x.shape[-1]
        return F.interpolate(x[None], size=(h, w), mode="bilinear", align_corners=False, antialias=shrink)[0]

    # -- backdrops --------------------------------------------------------------------------
    def _backdrop(self, c: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """A c x c person-free crop (float 0-255) and its ignore map (bool)."""
        r = self.rng
        if r.random() < 0.15 or not self.backdrops:
            return self._synthetic_backdrop(c), torch.zeros(1, c, c, dtype=torch.bool)
        img, ign = r.choice(self.backdrops)
        _, h, w = img.shape
        s = max(c / h, c / w) * self._logu(1.0, 2.5)
        nh, nw = max(c, round(h * s)), max(c, round(w * s))
        x = img.float() if ign is None else torch.cat([img.float(), ign.float() * 255], 0)
        x = self._resize(x, nh, nw)
        y0, x0 = r.randint(0, nh - c), r.randint(0, nw - c)
        x = x[:, y0:y0 + c, x0:x0 + c]
        if r.random() < 0.5:
            x = x.flip(-1)
        ign_c = x[3:] > 127 if ign is not None else torch.zeros(1, c, c, dtype=torch.bool)
        return x[:3].contiguous(), ign_c

    def _synthetic_backdrop(self, c: int) -> torch.Tensor:
        """Gradient + low-frequency blotches: walls, skies, studio sweeps, bokeh."""
        r = self.rng
        c0 = torch.tensor([r.uniform(0, 255) for _ in range(3)]).view(3, 1, 1)
        c1 = torch.tensor([r.uniform(0, 255) for _ in range(3)]).view(3, 1, 1)
        t = torch.linspace(0, 1, c).view(1, c, 1) if r.random() < 0.5 else torch.linspace(0, 1, c).view(1, 1, c)
        bg = (c0 * (1 - t) + c1 * t).expand(3, c, c).clone()
        low = torch.rand(1, 3, max(2, c // 32), max(2, c // 32), generator=self.gen) * 255
        low = F.interpolate(low, size=(c, c), mode="bicubic", align_corners=False)[0]
        a = r.uniform(0.0, 0.6)
        return (bg * (1 - a) + low * a).clamp(0, 255)

    # -- compositing ------------------------------------------------------------------------
    def _paste(self, canvas: torch.Tensor, label: torch.Tensor, p: Person, c: int, stats) -> None:
        r = self.rng
        ph, pw = p.image.shape[-2:]
        # height from a few percent of the frame to past its edges (log-uniform)
        th = max(10, round(c * self._logu(0.07, 1.7)))
        tw = max(3, round(th * pw / ph))
        if tw > 2 * c:
            th, tw = max(10, round(th * 2 * c / tw)), 2 * c
        x = self._resize(torch.cat([p.image.float(), p.alpha.float()], 0), th, tw)
        img, alpha = x[:3], (x[3:] / 255).clamp(0, 1)
        # match the backdrop's light and colour part of the way, so the paste edge is not the cue
        mu_b, sd_b = stats
        a = r.uniform(0.0, 0.6)
        if a > 0:
            w = alpha.sum().clamp(min=1)
            mu_p = (img * alpha).sum((1, 2), keepdim=True) / w
            sd_p = (((img - mu_p) ** 2 * alpha).sum((1, 2), keepdim=True) / w).sqrt().clamp(min=4)
            matched = (img - mu_p) / sd_p * (sd_p * (1 - a) + sd_b * a) + (mu_p * (1 - a) + mu_b * a)
            img = matched.clamp(0, 255)
        # placement: anywhere, partly outside; head-and-shoulders people sit on the bottom edge
        if p.half_body and th > 0.5 * c and r.random() < 0.8:
            y0 = c - th + round(r.uniform(0, 0.25) * th)
        else:
            y0 = round(r.uniform(-0.3 * th, c - 0.6 * th))
        x0 = round(r.uniform(-0.4 * tw, c - 0.6 * tw))
        ys, xs = max(0, y0), max(0, x0)
        ye, xe = min(c, y0 + th), min(c, x0 + tw)
        if ye <= ys or xe <= xs:
            return
        pi = img[:, ys - y0:ye - y0, xs - x0:xe - x0]
        pa = alpha[:, ys - y0:ye - y0, xs - x0:xe - x0]
        soft = F.avg_pool2d(pa[None], 3, 1, 1, count_include_pad=False)[0]  # no hard paste edge
        region = canvas[:, ys:ye, xs:xe]
        canvas[:, ys:ye, xs:xe] = pi * soft + region * (1 - soft)
        label[:, ys:ye, xs:xe] = pa + label[:, ys:ye, xs:xe] * (1 - pa)

    def _composite(self, c: int, people: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = self.rng
        canvas, ign = self._backdrop(c)
        blur = r.random() < 0.25
        if blur:  # depth of field: a soft backdrop, people sharp (or all soft below)
            k = r.choice([3, 5, 7])
            canvas = F.avg_pool2d(canvas[None], k, 1, k // 2, count_include_pad=False)[0]
        label = torch.zeros(1, c, c)
        stats = (canvas.mean((1, 2), keepdim=True), canvas.std((1, 2), keepdim=True).clamp(min=4))
        for _ in range(people):
            self._paste(canvas, label, r.choice(self.people), c, stats)
        return canvas, label * 255, ign

    # -- photos -----------------------------------------------------------------------------
    def _photo(self, name: str) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r, c = self.rng, self.crop
        s = r.choice(self.sets[name])
        _, h, w = s.image.shape
        ign = s.ignore if s.ignore is not None else torch.zeros(1, h, w, dtype=torch.bool)
        x = torch.cat([s.image.float(), s.mask.float(), ign.float() * 255], 0)
        zoom = zoom_of(name)
        upper_body = not zoom and name in FULL_BODY and r.random() < self.upper_body_p
        if zoom:  # decoded at n x the serving size; drawn at 1-3 x the serving scale, never enlarged past 1.5
            scale = self._logu(1 / zoom[1], min(1.5, 3 / zoom[1]))
        else:
            scale = self._logu(1.2, 2.4) if upper_body else self._logu(0.4, 1.5)
        nh, nw = max(8, round(h * scale)), max(8, round(w * scale))
        x = self._resize(x, nh, nw)
        ph, pw = max(0, c - nh), max(0, c - nw)
        if ph or pw:  # pad to the crop with a backdrop (mask 0), not a flat colour: no frame cue
            bg, bg_ign = self._backdrop(max(c, nh + ph, nw + pw))
            fill = torch.cat([bg, torch.zeros_like(bg[:1]), bg_ign.float() * 255], 0)[:, :nh + ph, :nw + pw].clone()
            oy, ox = r.randint(0, ph), r.randint(0, pw)
            fill[:, oy:oy + nh, ox:ox + nw] = x
            x, nh, nw = fill, nh + ph, nw + pw
        person = x[3] > 127
        if upper_body and person.any():
            ys, xs = person.nonzero(as_tuple=True)
            cy = ys.min().item() + r.uniform(-0.15, 0.35) * c
            cx = xs.float().mean().item() + r.uniform(-0.25, 0.25) * c
            y0 = int(min(max(0, cy - c * 0.3), nh - c))
            x0 = int(min(max(0, cx - c / 2), nw - c))
        elif person.any() and r.random() < self.person_centred_p:
            # small people are rare pixels: centre some crops on a random person pixel
            ys, xs = person.nonzero(as_tuple=True)
            k = r.randrange(len(ys))
            y0 = int(min(max(0, ys[k].item() - r.uniform(0.2, 0.8) * c), nh - c))
            x0 = int(min(max(0, xs[k].item() - r.uniform(0.2, 0.8) * c), nw - c))
        else:
            y0, x0 = r.randint(0, nh - c), r.randint(0, nw - c)
        x = x[:, y0:y0 + c, x0:x0 + c]
        return x[:3], x[3:4], x[4:5] > 127

    def _context(self, tries: int = 6) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A crop of a labelled photo where people are fewest: the scene around them, as a negative."""
        r, c = self.rng, self.crop
        s = r.choice(self.sets[r.choice(self.context_sources)])
        _, h, w = s.image.shape
        ign = s.ignore if s.ignore is not None else torch.zeros(1, h, w, dtype=torch.bool)
        x = torch.cat([s.image.float(), s.mask.float(), ign.float() * 255], 0)
        scale = max(c / h, c / w) * self._logu(1.0, 2.0)
        nh, nw = max(c, round(h * scale)), max(c, round(w * scale))
        x = self._resize(x, nh, nw)
        person = (x[3] > 127).float()
        best = None
        for _ in range(tries):
            y0, x0 = r.randint(0, nh - c), r.randint(0, nw - c)
            n = person[y0:y0 + c, x0:x0 + c].sum().item()
            if best is None or n < best[0]:
                best = (n, y0, x0)
            if n == 0:
                break
        _, y0, x0 = best
        x = x[:, y0:y0 + c, x0:x0 + c]
        return x[:3], x[3:4], x[4:5] > 127

    # -- photometric ------------------------------------------------------------------------
    def _photometric(self, img: torch.Tensor) -> torch.Tensor:
        r = self.rng
        img = img / 255
        img = img * (r.uniform(0.2, 0.5) if r.random() < 0.15 else r.uniform(0.7, 1.3))  # light
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

    def sample_raw(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
        """(image 0-255, mask 0-255, ignore bool, source) before photometric jitter."""
        src = self.rng.choices(self.sources, self.weights)[0]
        if src == "composite":
            img, mask, ign = self._composite(self.crop, self.rng.choices([1, 2, 3, 4], [4, 3, 2, 2])[0])
        elif src == "empty":
            img, mask, ign = self._composite(self.crop, 0)
        elif src == "context":
            img, mask, ign = self._context()
        else:
            img, mask, ign = self._photo(src)
        if self.rng.random() < 0.5:
            img, mask, ign = img.flip(-1), mask.flip(-1), ign.flip(-1)
        return img, mask, ign, src

    def _shade(self, img: torch.Tensor) -> torch.Tensor:
        """A building's shadow: one side of a soft-edged line through the crop darkened and tinted
        towards skylight blue, people in it included, while the other side keeps its light."""
        r = self.shade_rng
        _, h, w = img.shape
        theta = r.uniform(0, 2 * math.pi)
        ys = torch.arange(h, dtype=torch.float32).view(-1, 1) - r.uniform(0.2, 0.8) * h
        xs = torch.arange(w, dtype=torch.float32).view(1, -1) - r.uniform(0.2, 0.8) * w
        softness = r.uniform(1.0, 0.08 * max(h, w))
        inside = torch.sigmoid((xs * math.cos(theta) + ys * math.sin(theta)) / softness)
        tint = torch.tensor([r.uniform(0.88, 1.0), r.uniform(0.95, 1.02), r.uniform(1.0, 1.12)]).view(3, 1, 1)
        factor = 1 - inside * (1 - r.uniform(0.2, 0.6) * tint)
        return (img.float() * factor).clamp(0, 255)

    def jitter(self, img: torch.Tensor) -> torch.Tensor:
        """What a drawn crop (0-255) gets before it is normalised: shade, then photometric jitter (0-1)."""
        if self.shade_p and self.shade_rng.random() < self.shade_p:
            img = self._shade(img)
        return self._photometric(img)

    def sample(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        img, mask, ign, _ = self.sample_raw()
        img = self.jitter(img)
        return (img - self.mean) / self.std, mask / 255, (~ign).float()

    def batch(self, n: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        xs, ys, ws = zip(*(self.sample() for _ in range(n)))
        return torch.stack(xs), torch.stack(ys), torch.stack(ws)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> Tuple[torch.Tensor, int, int]:
    """Pad bottom/right with zeros (= the mean colour after normalisation), as the serving code does."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph)), h, w


def normalise_uint8(img: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    return (img.float() / 255 - mean) / std
