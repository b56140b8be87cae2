"""Writes test/fixtures/resize/: a synthetic photo (PNG and JPEG bytes) and what Pillow makes of it
with the training code's resize (models/datasets.py `load_resized`: Image.open -> convert("RGB") ->
resize(size, Image.BILINEAR), size = round(w * scale)). test/unit/core/segmentation-parity.test.ts
compares the serving code's pre-processing with these pixels.

    /usr/bin/python3 models/make_resize_fixture.py
"""
import json
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "resize"


def synthetic(w: int, h: int, seed: int) -> np.ndarray:
    """Smooth gradients, a hard-edged disk, stripes from coarse to finer than a pixel, and noise:
    the content on which resampling filters differ."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / (w - 1)
    g = 255 * y / (h - 1)
    b = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    img = np.stack([r, g, b], -1)
    disk = (x - 0.6 * w) ** 2 + (y - 0.35 * h) ** 2 < (0.2 * min(w, h)) ** 2
    img[disk] = [250, 30, 40]
    band = (y > 0.7 * h) & (y < 0.85 * h)
    period = 2 + 14 * x / w  # stripes from 2 to 16 px
    img[band] = (255 * ((x[band] // (period[band] / 2)) % 2))[:, None]
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def load_resized(path: Path, long_side: int) -> Image.Image:
    """models/datasets.py `load_resized`, image half."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    scale = long_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(size, Image.BILINEAR)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = Image.fromarray(synthetic(333, 517, 1))
    small = Image.fromarray(synthetic(61, 90, 2))
    big.save(OUT / "photo.png")
    big.save(OUT / "photo.jpg", quality=90)
    small.save(OUT / "small.png")
    cases = []
    for source, long_side in [("photo.png", 320), ("photo.jpg", 320), ("photo.png", 40), ("small.png", 320)]:
        out = load_resized(OUT / source, long_side)
        name = f"pil-{Path(source).stem}-{Path(source).suffix[1:]}-{long_side}.png"
        out.save(OUT / name)
        cases.append({"source": source, "longSide": long_side, "width": out.size[0], "height": out.size[1],
                      "expected": name})
    # Output sizes, including halves (Python rounds them to even: 212.5 -> 212).
    sizes = []
    for w, h, long_side in [(640, 425, 320), (640, 427, 320), (550, 822, 320), (4000, 3000, 320), (333, 517, 320),
                            (101, 3, 320), (1, 1000, 320), (960, 639, 480)]:
        scale = long_side / max(w, h)
        sizes.append([w, h, long_side, max(1, round(w * scale)), max(1, round(h * scale))])
    meta = {"generator": "models/make_resize_fixture.py", "pillow": PIL.__version__, "cases": cases, "sizes": sizes}
    (OUT / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
