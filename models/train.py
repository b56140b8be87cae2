"""Train a Tiramisu person segmenter on ../shared/data (ccp train split + vton composites).

Resumable: `--resume models/checkpoints/<name>-last.pt` continues from the exact step with the same
optimiser, schedule and augmentation RNG state. Every epoch writes metrics.csv, curves.png and a
sample-predictions PNG under models/runs/<name>/, and keeps the best checkpoint by validation IoU
(validation = every 10th id of ccp `train`; the `test` split is never read here).

  /usr/bin/python3 models/train.py --name compact320 --preset compact --steps 4000
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import Augmenter, load_set, normalise_uint8, pad_to_multiple, splits, train_val_ids  # noqa: E402
from tiramisu import Tiramisu, count_parameters, preset  # noqa: E402

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="compact320")
    p.add_argument("--preset", default="compact")
    p.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    p.add_argument("--long-side", type=int, default=320, help="serving resolution (long side, px)")
    p.add_argument("--crop", type=int, default=192)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=4000, help="total optimiser steps (schedule length)")
    p.add_argument("--epoch-steps", type=int, default=75, help="steps between validations")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--vton-p", type=float, default=0.3, help="share of samples that are composited vton people")
    p.add_argument("--upper-body-p", type=float, default=0.3, help="share of crops zoomed on the upper body")
    p.add_argument("--jaccard-weight", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--resume", type=Path)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--stop-after-min", type=float, default=0, help="stop (resumably) after this wall time")
    p.add_argument("--more-steps", type=int, default=0,
                   help="with --resume: a warm restart (SGDR): N more steps with a fresh warm-up + cosine")
    return p.parse_args(argv)


def lr_at(step: int, args) -> float:
    step -= getattr(args, "schedule_start", 0)
    total = args.steps - getattr(args, "schedule_start", 0)
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, total - args.warmup)
    return 1e-5 + (args.lr - 1e-5) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def loss_fn(logits: torch.Tensor, target: torch.Tensor, jaccard_weight: float) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum((1, 2, 3))
    union = (p + target - p * target).sum((1, 2, 3))
    jaccard = 1 - ((inter + 1) / (union + 1)).mean()
    return bce + jaccard_weight * jaccard


@torch.no_grad()
def validate(model, val, multiple, device, bf16):
    model.eval()
    inter = union = 0.0
    ious, preds = [], []
    for s in val:
        x, h, w = pad_to_multiple(normalise_uint8(s.image)[None], multiple)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            prob = torch.sigmoid(model(x.to(device).contiguous(memory_format=torch.channels_last)).float())
        prob = prob[0, 0, :h, :w].cpu()
        pred, gt = prob > 0.5, s.mask[0] > 127
        i, u = (pred & gt).sum().item(), (pred | gt).sum().item()
        inter, union = inter + i, union + u
        ious.append(i / u if u else 1.0)
        preds.append(prob)
    model.train()
    return inter / max(union, 1), float(np.mean(ious)), preds


def save_samples(path: Path, val, preds, n=6):
    from PIL import Image
    tiles = []
    for s, p in list(zip(val, preds))[:n]:
        img = s.image.permute(1, 2, 0).numpy()
        gt = np.repeat(s.mask.permute(1, 2, 0).numpy(), 3, 2)
        pr = np.repeat((p.numpy() * 255).astype(np.uint8)[..., None], 3, 2)
        tiles.append(np.concatenate([img, gt, pr], 1))
    h, w = max(t.shape[0] for t in tiles), max(t.shape[1] for t in tiles)
    tiles = [np.pad(t, ((0, h - t.shape[0]), (0, w - t.shape[1]), (0, 0))) for t in tiles]
    Image.fromarray(np.concatenate(tiles[:3], 1) if len(tiles) <= 3 else
                    np.concatenate([np.concatenate(tiles[:3], 1), np.concatenate(tiles[3:6], 1)], 0)).save(path)


def save_curves(csv_path: Path, png_path: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    ep = [int(r["epoch"]) for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(ep, [float(r["train_loss"]) for r in rows])
    ax[0].set_title("train loss (BCE + soft Jaccard)")
    ax[1].plot(ep, [float(r["val_dataset_iou"]) for r in rows], label="dataset IoU")
    ax[1].plot(ep, [float(r["val_mean_iou"]) for r in rows], label="mean IoU")
    ax[1].set_title("validation IoU (ccp train, every 10th id)")
    ax[1].legend()
    for a in ax:
        a.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(png_path)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    run_dir = HERE / "runs" / args.name
    ckpt_dir = HERE / "checkpoints"
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    ckpt_dir.mkdir(exist_ok=True)
    cache = HERE / ".cache"

    ccp_root, vton_root = args.data / "ccp", args.data / "vton"
    train_ids, val_ids = train_val_ids(ccp_root)
    t0 = time.time()
    ccp = load_set(ccp_root, train_ids, args.long_side, cache, "ccp-train")
    val = load_set(ccp_root, val_ids, args.long_side, cache, "ccp-val")
    vton = load_set(vton_root, sorted(splits(vton_root)["train"]), args.long_side, cache, "vton")
    print(f"data: {len(ccp)} train, {len(val)} val, {len(vton)} vton in {time.time() - t0:.1f}s", flush=True)

    cfg = preset(args.preset)
    model = Tiramisu(cfg).to(args.device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    aug = Augmenter(ccp, vton, args.crop, args.seed, args.vton_p, args.upper_body_p)
    step, epoch, best = 0, 0, -1.0
    if args.resume:
        state = torch.load(args.resume, map_location=args.device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, epoch, best = state["step"], state["epoch"], state["best_iou"]
        aug.rng.setstate(state["aug_rng"])
        aug.gen.set_state(state["aug_gen"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed {args.resume} at step {step}, epoch {epoch}, best {best:.4f}", flush=True)
        if args.more_steps:
            args.schedule_start, args.steps = step, step + args.more_steps
            print(f"warm restart: steps {step}..{args.steps}, lr {args.lr} -> 1e-5", flush=True)
    print(f"model {args.preset}: {count_parameters(model):,} parameters, multiple {cfg.size_multiple}", flush=True)

    csv_path = run_dir / "metrics.csv"
    if not csv_path.exists():
        with open(csv_path, "w") as f:
            f.write("epoch,step,samples,lr,train_loss,val_dataset_iou,val_mean_iou,img_per_s,wall_s\n")
    start = time.time()
    while step < args.steps:
        t_epoch, losses = time.time(), []
        for _ in range(args.epoch_steps):
            if step >= args.steps:
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step, args)
            x, y = aug.batch(args.batch)
            x = x.to(args.device).contiguous(memory_format=torch.channels_last)
            y = y.to(args.device)
            with torch.autocast(device_type=args.device.split(":")[0], dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(x)
            loss = loss_fn(logits.float(), y, args.jaccard_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        epoch += 1
        rate = len(losses) * args.batch / (time.time() - t_epoch)
        d_iou, m_iou, preds = validate(model, val, cfg.size_multiple, args.device, args.bf16)
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "epoch": epoch,
                 "best_iou": max(best, d_iou), "aug_rng": aug.rng.getstate(), "aug_gen": aug.gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "preset": args.preset, "config": cfg.to_dict(),
                 "args": {k: str(v) for k, v in vars(args).items()}}
        if d_iou > best:
            best = d_iou
            torch.save({"model": model.state_dict(), "preset": args.preset, "config": cfg.to_dict(),
                        "step": step, "epoch": epoch, "val_dataset_iou": d_iou, "val_mean_iou": m_iou,
                        "long_side": args.long_side, "args": state["args"]}, ckpt_dir / f"{args.name}-best.pt")
        torch.save(state, ckpt_dir / f"{args.name}-last.pt")
        with open(csv_path, "a") as f:
            f.write(f"{epoch},{step},{step * args.batch},{lr_at(step - 1, args):.6f},{np.mean(losses):.4f},"
                    f"{d_iou:.4f},{m_iou:.4f},{rate:.2f},{time.time() - start:.0f}\n")
        save_samples(run_dir / "samples" / f"epoch-{epoch:03d}.png", val, preds)
        save_curves(csv_path, run_dir / "curves.png")
        print(f"epoch {epoch} step {step}/{args.steps} loss {np.mean(losses):.4f} val dIoU {d_iou:.4f} "
              f"mIoU {m_iou:.4f} best {best:.4f} {rate:.1f} img/s", flush=True)
        if args.stop_after_min and time.time() - start > args.stop_after_min * 60:
            print("time budget reached; resume with --resume", flush=True)
            break


if __name__ == "__main__":
    main()
