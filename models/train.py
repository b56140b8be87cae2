"""Train a Tiramisu person segmenter from a committed run config (models/configs/*.json).

  /usr/bin/python3 models/train.py --config models/configs/people480.json
  /usr/bin/python3 models/train.py --resume models/checkpoints/people480-last.pt     # continue exactly
  /usr/bin/python3 models/train.py --config models/configs/people480.json --profile 20   # crops/s, where time goes

A config names the model preset, the serving resolution (`longSide`), the datasets and their
mixture weights (models/datasets.py is the registry), the validation sets and a list of schedule
phases; each phase is a warm restart (fresh warm-up + cosine to `minLr`) with its own crop size,
batch and optionally its own mixture. The schedule is a function of the global step and the
config, and the config is stored in every checkpoint: `--resume <last.pt>` alone continues
exactly (optimiser, phase, RNG states). Appending a phase to the config and resuming with
`--config` extends a finished run.

Every `validation.everySteps` steps: dataset IoU per validation set (ignore regions left out), the
geometric mean across sets (the selection score: a set that collapses drags it to zero), rows in
models/runs/<name>/metrics.csv, curves.png and a sample sheet per set. The best checkpoint by the
geometric mean is kept. `ccp/test` is never read here.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from data import SYNTHETIC_SOURCES, Augmenter, normalise_uint8, pad_to_multiple, zoom_of
from datasets import REGISTRY, load_backgrounds, load_cutouts, load_split, spec
from runtime import ensure_allocator_env
from tiramisu import Tiramisu, TiramisuConfig, count_parameters, preset

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="run config (JSON); optional with --resume")
    p.add_argument("--resume", type=Path, help="a -last.pt checkpoint: continue exactly where it stopped")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--cache", type=Path, default=HERE / ".cache",
                   help="decoded data at the serving size (another --data needs its own)")
    p.add_argument("--init", help="start from these weights (a warm restart), instead of the config's init")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--stop-after-min", type=float, default=0, help="stop (resumably) after this wall time")
    p.add_argument("--stop-after-steps", type=int, default=0,
                   help="stop (resumably, after a validation) once this many steps have run (a dry run)")
    p.add_argument("--name", help="write checkpoints and metrics under this run name instead of the config's")
    p.add_argument("--keep-rows", action="store_true",
                   help="also keep each validation row's weights (checkpoints/<run>-stepNNNNNN.pt, git-ignored), "
                        "to average or re-score them later")
    p.add_argument("--profile", type=int, default=0, help="time N steps (data/forward/backward/optimiser), then exit")
    p.add_argument("--sheet-only", action="store_true", help="write the augmenter sample sheet and exit")
    p.add_argument("--validate-only", type=Path, metavar="CHECKPOINT",
                   help="score a checkpoint's weights (in their own architecture) on the config's validation sets "
                        "(as a row would), then exit")
    p.add_argument("--flip", action="store_true",
                   help="with --validate-only: average the logits of the photo and its mirror image (2x the time)")
    p.add_argument("--system-allocator", action="store_true",
                   help="leave glibc's malloc as it is (slower: see models/runtime.py)")
    args = p.parse_args(argv)
    if args.flip and not args.validate_only:
        p.error("--flip scores a checkpoint: it needs --validate-only CHECKPOINT")
    return args


# -- config + schedule ---------------------------------------------------------------------------
def load_config(path: Path) -> dict:
    cfg = json.loads(path.read_text())
    for key in ("name", "preset", "longSide", "mixture", "validation", "phases"):
        if key not in cfg:
            raise ValueError(f"Expected key {key!r} in run config {path} but it is missing")
    shade = cfg.get("shadeP", 0.0)
    if not _is_number(shade) or not 0 <= shade <= 1:
        raise ValueError(f"Expected shadeP in run config {path} to be a share between 0 and 1 but received {shade!r}")
    far = cfg.get("farBackground")
    if far is not None and not (isinstance(far, dict) and set(far) == {"weight", "px"} and _is_number(far["weight"])
                                and far["weight"] > 0 and _is_number(far["px"]) and isinstance(far["px"], int)
                                and far["px"] >= 1):
        raise ValueError(f"Expected farBackground in run config {path} to be {{\"weight\": a number above 0, "
                         f"\"px\": a whole number of pixels from 1}} but received {far!r}")
    for k in mixture_keys(cfg):
        if k not in REGISTRY and k not in SYNTHETIC_SOURCES and (zoom_of(k) or ("",))[0] not in REGISTRY:
            raise ValueError(f"Expected mixture keys among {sorted(REGISTRY) + list(SYNTHETIC_SOURCES)} "
                             f"(or <set>@2x..@4x) but received {k!r} in {path}")
    return cfg


def _is_number(x) -> bool:
    """An int or float from JSON (JSON's true/false are bools, which Python counts as ints)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def mixture_keys(cfg: dict) -> set:
    """Every source any phase draws from (a phase may bring its own mixture)."""
    return set(cfg["mixture"]).union(*(ph.get("mixture", {}) for ph in cfg["phases"]))


def phase_at(cfg: dict, step: int) -> tuple[int, dict, int]:
    """(index, phase, first step of that phase) for a global step; past the end -> (len, None, total)."""
    start = 0
    for i, ph in enumerate(cfg["phases"]):
        if step < start + ph["steps"]:
            return i, ph, start
        start += ph["steps"]
    return len(cfg["phases"]), None, start


def total_steps(cfg: dict) -> int:
    return sum(ph["steps"] for ph in cfg["phases"])


def lr_at(cfg: dict, step: int) -> float:
    _, ph, start = phase_at(cfg, step)
    if ph is None:
        return 0.0
    t, min_lr = step - start, ph.get("minLr", 1e-5)
    if t < ph["warmup"]:
        return ph["lr"] * (t + 1) / ph["warmup"]
    frac = (t - ph["warmup"]) / max(1, ph["steps"] - ph["warmup"])
    return min_lr + (ph["lr"] - min_lr) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


# -- loss + scores -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossOptions:
    """The run config's loss terms, in one place for training and timing: `jaccardWeight`, and
    `farBackground` ({"weight": w, "px": d}): BCE on known background pixels more than d pixels from
    any person pixel of their crop counts w times (a whole person-free crop is all far)."""
    jaccard_weight: float = 1.0
    far_weight: float = 1.0
    far_px: int = 0

    @staticmethod
    def of(cfg: dict) -> "LossOptions":
        far = cfg.get("farBackground", {"weight": 1.0, "px": 0})
        return LossOptions(jaccard_weight=cfg.get("jaccardWeight", 1.0), far_weight=far["weight"], far_px=far["px"])


def far_background(target: torch.Tensor, weight: torch.Tensor, px: int) -> torch.Tensor:
    """Known pixels with no person pixel within `px` (a square window, two separable max-pools)."""
    k = 2 * px + 1
    near = F.max_pool2d(target, (1, k), stride=1, padding=(0, px))
    near = F.max_pool2d(near, (k, 1), stride=1, padding=(px, 0))
    return (near == 0) & (weight > 0)


def loss_fn(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, opts: LossOptions) -> torch.Tensor:
    """BCE + soft Jaccard, both over known pixels only (weight 0 = ignore region). Far background
    weighs more in the BCE term only; the mean is still over known pixels, so a crop with more far
    background adds more loss (that is the point), and the Jaccard term is unchanged."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    scale = weight
    if opts.far_weight != 1.0:
        scale = weight * (1.0 + (opts.far_weight - 1.0) * far_background(target, weight, opts.far_px).float())
    bce = (bce * scale).sum() / weight.sum().clamp(min=1)
    p = torch.sigmoid(logits) * weight
    t = target * weight
    inter = (p * t).sum((1, 2, 3))
    union = (p + t - p * t).sum((1, 2, 3))
    return bce + opts.jaccard_weight * (1 - ((inter + 1) / (union + 1)).mean())


def geomean(xs) -> float:
    xs = [max(x, 1e-4) for x in xs]
    return float(math.exp(sum(math.log(x) for x in xs) / len(xs)))


@torch.no_grad()
def validate(model, sets: dict, multiple: int, device: str, bf16: bool) -> tuple[dict, dict]:
    """Per set: dataset IoU (sum of intersections / sum of unions), mean IoU, the mean share marked on
    person-free frames, the frames with people whose map is empty (what the subject rule calls "nobody"),
    and the predictions."""
    model.eval()
    scores, preds = {}, {}
    for key, samples in sets.items():
        inter = union = 0
        ious, ps, empty_fp = [], [], []
        empty_maps = 0
        for s in samples:
            x, h, w = pad_to_multiple(normalise_uint8(s.image)[None], multiple)
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                prob = torch.sigmoid(model(x.to(device).contiguous(memory_format=torch.channels_last)).float())
            prob = prob[0, 0, :h, :w].cpu()
            keep = ~s.ignore[0] if s.ignore is not None else torch.ones(h, w, dtype=torch.bool)
            pred, gt = (prob > 0.5) & keep, (s.mask[0] > 127) & keep
            i, u = (pred & gt).sum().item(), (pred | gt).sum().item()
            inter, union = inter + i, union + u
            ious.append(i / u if u else 1.0)
            if not gt.any():
                empty_fp.append(pred.float().mean().item())
            elif not (prob > 0.5).any():
                empty_maps += 1
            ps.append(prob)
        scores[key] = {"datasetIoU": inter / max(union, 1), "meanIoU": float(np.mean(ious)), "n": len(samples),
                       "emptyFrames": len(empty_fp), "emptyMaps": empty_maps,
                       "emptyFalsePositive": float(np.mean(empty_fp)) if empty_fp else 0.0}
        preds[key] = ps
    model.train()
    return scores, preds


class Mirrored(torch.nn.Module):
    """A model that looks at the photo and its mirror image and averages the logits."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.net(x) + self.net(x.flip(-1)).flip(-1)) / 2


# -- pictures ------------------------------------------------------------------------------------
def _grid(tiles, cols: int) -> np.ndarray:
    h, w = max(t.shape[0] for t in tiles), max(t.shape[1] for t in tiles)
    tiles = [np.pad(t, ((0, h - t.shape[0]), (0, w - t.shape[1]), (0, 0))) for t in tiles]
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    return np.concatenate(rows, 0)


def _overlay(img: np.ndarray, mask: np.ndarray, ignore=None) -> np.ndarray:
    """Person in green over a darkened photo; ignore regions in magenta."""
    out = img.astype(np.float32) * 0.55
    m = mask.astype(np.float32)[..., None] / 255
    out = out * (1 - m * 0.6) + np.array([40, 230, 40], np.float32) * m * 0.6
    if ignore is not None:
        out[ignore] = out[ignore] * 0.5 + np.array([200, 0, 200]) * 0.5
    return out.clip(0, 255).astype(np.uint8)


def save_augmenter_sheet(aug: Augmenter, path: Path, n: int = 32) -> None:
    """What training sees: each crop with its label overlaid (green) and ignore (magenta), by source."""
    from PIL import Image, ImageDraw
    tiles = []
    for _ in range(n):
        img, mask, ign, src = aug.sample_raw()
        img = (aug.jitter(img) * 255).permute(1, 2, 0).numpy().astype(np.uint8)
        ov = _overlay(img, mask[0].numpy(), ign[0].numpy())
        pair = np.concatenate([img, ov], 1)
        pim = Image.fromarray(pair)
        ImageDraw.Draw(pim).text((3, 2), src, fill=(255, 255, 0))
        tiles.append(np.asarray(pim))
    Image.fromarray(_grid(tiles, 4)).save(path, quality=85)


def save_val_sheet(path: Path, sets: dict, preds: dict, per_set: int = 4) -> None:
    """Per validation set: photo | truth | prediction for its first `per_set` photos (JPEG, small)."""
    from PIL import Image
    rows = []
    for key, samples in sets.items():
        tiles = []
        step = max(1, len(samples) // per_set)
        for s, p in list(zip(samples, preds[key]))[::step][:per_set]:
            img = s.image.permute(1, 2, 0).numpy()
            gt = np.repeat(s.mask.permute(1, 2, 0).numpy(), 3, 2)
            pr = np.repeat((p.numpy() * 255).astype(np.uint8)[..., None], 3, 2)
            t = np.concatenate([img, gt, pr], 1)
            scale = 160 / t.shape[0]
            tiles.append(np.asarray(Image.fromarray(t).resize((round(t.shape[1] * scale), 160), Image.BILINEAR)))
        rows.append(_grid(tiles, per_set))
    w = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, w - r.shape[1]), (0, 0))) for r in rows]
    Image.fromarray(np.concatenate(rows, 0)).save(path, quality=80)


def save_curves(csv_path: Path, png_path: Path, val_keys) -> None:
    import csv
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    st = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].plot(st, [float(r["train_loss"]) for r in rows])
    ax[0].set_title("train loss (BCE + soft Jaccard)")
    for k in val_keys:
        col = f"{k}_dataset_iou"
        if col in rows[0]:
            ax[1].plot(st, [float(r[col]) for r in rows], label=k)
    ax[1].plot(st, [float(r["val_geomean"]) for r in rows], "k--", label="geometric mean")
    ax[1].set_title("validation dataset IoU per set")
    ax[1].legend(fontsize=8)
    for a in ax:
        a.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(png_path)
    plt.close(fig)


# -- data ----------------------------------------------------------------------------------------
def build_data(cfg: dict, data: Path, cache: Path):
    t0 = time.time()
    long_side = cfg["longSide"]
    keys = mixture_keys(cfg)
    train_names = sorted(set(k for k in keys if k in REGISTRY) |
                         set(cfg.get("peopleSources", [])) | set(cfg.get("backdropSources", [])))
    sets = {n: load_split(data, n, "train", long_side, cache) for n in train_names}
    for k in sorted(k for k in keys if zoom_of(k)):
        name, n = zoom_of(k)
        sets[k] = load_split(data, name, "train", long_side * n, cache)
    val = {}
    for key in cfg["validation"]["sets"]:
        name, split = key.split(":")
        every = cfg["validation"].get("every", {}).get(name, 1)
        val[f"{name}/{split}"] = load_split(data, name, split, long_side, cache)[::every]
    cutouts = load_cutouts(data, cache)
    backgrounds = load_backgrounds(data, cache)
    print(f"data in {time.time() - t0:.1f}s: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()) +
          f"; cutouts {len(cutouts)}, backgrounds {len(backgrounds)}; validation " +
          ", ".join(f"{k} {len(v)}" for k, v in val.items()), flush=True)
    return sets, val, cutouts, backgrounds


def make_augmenter(cfg: dict, phase: dict, sets, cutouts, backgrounds, seed: int) -> Augmenter:
    people = [n for n in cfg.get("peopleSources", []) if spec(n).people_source]
    return Augmenter(sets, phase.get("mixture", cfg["mixture"]), phase["crop"], seed, cutouts, backgrounds,
                     people, upper_body_p=cfg.get("upperBodyP", 0.25), person_centred_p=cfg.get("personCentredP", 0.5),
                     context_sources=cfg.get("contextSources"), shade_p=cfg.get("shadeP", 0.0))


# -- main ----------------------------------------------------------------------------------------
def main(argv=None):
    args = parse_args(argv)
    if argv is None:
        ensure_allocator_env(not args.system_allocator)
    torch.set_num_threads(args.threads)
    state = torch.load(args.resume, map_location="cpu", weights_only=False) if args.resume else None
    if args.config:
        cfg = load_config(args.config)
    elif state is not None and "run_config" in state:
        cfg = state["run_config"]
    else:
        raise SystemExit("Expected --config <file> or --resume <checkpoint written by this script>")
    if args.name:
        cfg = {**cfg, "name": args.name}
    if args.init:
        cfg = {**cfg, "init": args.init}
    seed = cfg.get("seed", 1234)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    bf16 = bool(cfg.get("bf16", False))
    name = cfg["name"]
    run_dir = HERE / "runs" / name
    ckpt_dir = HERE / "checkpoints"
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    ckpt_dir.mkdir(exist_ok=True)

    sets, val, cutouts, backgrounds = build_data(cfg, args.data, args.cache)
    mcfg = preset(cfg["preset"], **cfg.get("presetOverrides", {}))
    model = Tiramisu(mcfg).to(args.device).to(memory_format=torch.channels_last)
    wd = cfg.get("weightDecay", 1e-4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=wd)
    step, best = 0, -1.0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best_score"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed {args.resume} at step {step}, best {best:.4f}", flush=True)
    elif cfg.get("init"):
        init = torch.load(ROOT / cfg["init"], map_location="cpu", weights_only=False)
        model.load_state_dict(init["model"])
        print(f"initialised from {cfg['init']} (weights only; fresh optimiser)", flush=True)
    print(f"model {cfg['preset']}: {count_parameters(model):,} parameters, multiple {mcfg.size_multiple}; "
          f"{total_steps(cfg)} steps in {len(cfg['phases'])} phases", flush=True)

    if args.validate_only:
        # The weights carry their architecture (a widened checkpoint scored with its narrow config).
        weights = torch.load(args.validate_only, map_location="cpu", weights_only=False)
        mcfg = TiramisuConfig(**weights["config"])
        model = Tiramisu(mcfg).to(args.device).to(memory_format=torch.channels_last)
        model.load_state_dict(weights["model"])
        scores, _ = validate(Mirrored(model) if args.flip else model, val, mcfg.size_multiple, args.device, False)
        per_set = {k: round(v["datasetIoU"], 4) for k, v in scores.items()}
        print(json.dumps({"checkpoint": str(args.validate_only), "flip": args.flip, "datasetIoU": per_set,
                          "emptyFalsePositive": {k: round(v["emptyFalsePositive"], 4) for k, v in scores.items()
                                                 if v["emptyFrames"]},
                          "emptyMaps": {k: v["emptyMaps"] for k, v in scores.items()},
                          "geomean": round(geomean(per_set.values()), 4)}), flush=True)
        return
    phase_idx, phase, _ = phase_at(cfg, step)
    if phase is None:
        print(f"nothing to do: step {step} is past the config's {total_steps(cfg)} steps (append a phase)")
        return
    aug = make_augmenter(cfg, phase, sets, cutouts, backgrounds, seed + phase_idx)
    if state is not None and state.get("phase") == phase_idx:
        aug.rng.setstate(state["aug_rng"])
        aug.gen.set_state(state["aug_gen"])
        if "aug_shade_rng" in state:
            aug.shade_rng.setstate(state["aug_shade_rng"])
    if args.sheet_only or not (run_dir / f"augmenter-phase{phase_idx}.jpg").exists():
        save_augmenter_sheet(aug, run_dir / f"augmenter-phase{phase_idx}.jpg")
        if args.sheet_only:
            print(f"wrote {run_dir / f'augmenter-phase{phase_idx}.jpg'}")
            return
    if args.profile:
        return profile(model, opt, aug, phase, cfg, args)

    val_keys = list(val)
    csv_path = run_dir / "metrics.csv"
    if not csv_path.exists():
        csv_path.write_text("step,phase,crop,batch,lr,train_loss,crops_per_s,wall_s," +
                            ",".join(f"{k}_dataset_iou,{k}_mean_iou" for k in val_keys) +
                            ",camvid_empty_fp,val_geomean,val_min\n")
    every = cfg["validation"]["everySteps"]
    loss_opts = LossOptions.of(cfg)
    start, losses, seen, t_win = time.time(), [], 0, time.time()
    first_step = step
    while True:
        idx, ph, _ = phase_at(cfg, step)
        if ph is None:
            print("run complete", flush=True)
            break
        if idx != phase_idx:  # next warm restart: its crop, batch, mixture; a fresh augmenter stream
            phase_idx, phase = idx, ph
            aug = make_augmenter(cfg, phase, sets, cutouts, backgrounds, seed + phase_idx)
            save_augmenter_sheet(aug, run_dir / f"augmenter-phase{phase_idx}.jpg")
            print(f"phase {idx}: {ph.get('name', '')} crop {ph['crop']} batch {ph['batch']} lr {ph['lr']}", flush=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step)
        x, y, w = aug.batch(ph["batch"])
        x = x.to(args.device).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=args.device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = loss_fn(logits.float(), y.to(args.device), w.to(args.device), loss_opts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        seen += ph["batch"]
        step += 1
        end_of_run = phase_at(cfg, step)[1] is None
        stop_now = bool(args.stop_after_steps) and step - first_step >= args.stop_after_steps
        if step % every and not end_of_run and not stop_now:
            if step % 25 == 0:
                rate = seen / (time.time() - t_win)
                print(f"step {step} loss {np.mean(losses[-25:]):.4f} {rate:.2f} crops/s", flush=True)
            continue
        rate = seen / (time.time() - t_win)
        scores, preds = validate(model, val, mcfg.size_multiple, args.device, False)  # fp32, as served
        per_set = [scores[k]["datasetIoU"] for k in val_keys]
        score = geomean(per_set)
        camvid = next((scores[k] for k in val_keys if k.startswith("camvid")), None)
        ckpt = {"model": model.state_dict(), "preset": cfg["preset"], "config": mcfg.to_dict(), "step": step,
                "long_side": cfg["longSide"], "run_config": cfg, "validation": scores, "val_score": score}
        if score > best:
            best = score
            torch.save(ckpt, ckpt_dir / f"{name}-best.pt")
        if args.keep_rows:
            torch.save(ckpt, ckpt_dir / f"{name}-step{step:06d}.pt")
        torch.save({**ckpt, "optimizer": opt.state_dict(), "best_score": best, "phase": phase_idx,
                    "aug_rng": aug.rng.getstate(), "aug_gen": aug.gen.get_state(),
                    "aug_shade_rng": aug.shade_rng.getstate(),
                    "torch_rng": torch.get_rng_state()}, ckpt_dir / f"{name}-last.pt")
        with open(csv_path, "a") as f:
            f.write(f"{step},{phase_idx},{ph['crop']},{ph['batch']},{lr_at(cfg, step - 1):.6f},{np.mean(losses):.4f},"
                    f"{rate:.2f},{time.time() - start:.0f}," +
                    ",".join(f"{scores[k]['datasetIoU']:.4f},{scores[k]['meanIoU']:.4f}" for k in val_keys) +
                    f",{camvid['emptyFalsePositive'] if camvid else 0:.4f},{score:.4f},{min(per_set):.4f}\n")
        save_val_sheet(run_dir / "samples" / f"step-{step:06d}.jpg", val, preds)
        save_curves(csv_path, run_dir / "curves.png", val_keys)
        print(f"step {step}/{total_steps(cfg)} phase {phase_idx} loss {np.mean(losses):.4f} " +
              " ".join(f"{k} {scores[k]['datasetIoU']:.3f}" for k in val_keys) +
              f" geomean {score:.4f} best {best:.4f} {rate:.1f} crops/s"
              f" empty maps {sum(v['emptyMaps'] for v in scores.values())}", flush=True)
        losses, seen, t_win = [], 0, time.time()
        if stop_now or (args.stop_after_min and time.time() - start > args.stop_after_min * 60):
            print("time budget reached; continue with --resume", flush=True)
            break


def time_steps(model, opt, aug, batch: int, bf16: bool, loss_opts: LossOptions, steps: int,
               memory_format=torch.channels_last) -> dict:
    """Seconds per training step, split into data / forward / backward / optimiser (the first step
    of each call warms caches and oneDNN primitives and is left out)."""
    parts = {"data": [], "forward": [], "backward": [], "optimiser": []}
    for i in range(steps + 1):
        t0 = time.perf_counter()
        x, y, w = aug.batch(batch)
        x = x.contiguous(memory_format=memory_format)
        t1 = time.perf_counter()
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = loss_fn(logits.float(), y, w, loss_opts)
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        if i:
            for k, a, b in (("data", t0, t1), ("forward", t1, t2), ("backward", t2, t3), ("optimiser", t3, t4)):
                parts[k].append(b - a)
    return parts


def profile(model, opt, aug, phase, cfg, args):
    """Where a training step's time goes, for `phase`'s crop and batch (models/bench_train.py compares recipes)."""
    bf16 = bool(cfg.get("bf16", False))
    times = time_steps(model, opt, aug, phase["batch"], bf16, LossOptions.of(cfg), args.profile)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(json.dumps({"crop": phase["crop"], "batch": phase["batch"], "bf16": bf16, "threads": args.threads,
                      "msPerStep": {k: round(v * 1000, 1) for k, v in med.items()},
                      "cropsPerS": round(phase["batch"] / sum(med.values()), 2)}), flush=True)


if __name__ == "__main__":
    main()
