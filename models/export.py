"""Export a trained checkpoint to ONNX (dynamic batch/height/width) and write its model card.

  /usr/bin/python3 models/export.py --checkpoint models/checkpoints/people480-best.pt \
      --version 2026.12.01 [--training-notes notes.json] [--eval-json eval.json]

The card's `training` section is written from the run config stored in the checkpoint
(models/configs/<name>.json): datasets with their terms and mixture weights, phases, validation
per set; --training-notes adds what a checkpoint cannot know (hardware, wall time).

The card is the serving code's single source of truth for pre-processing; the worker refuses to
load weights whose SHA-256 differs from the card's.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from data import MEAN, STD, SYNTHETIC_SOURCES
from datasets import BACKGROUNDS, CUTOUTS, REGISTRY
from tiramisu import ExportWrapper, Tiramisu, TiramisuConfig, count_parameters

HERE = Path(__file__).resolve().parent
# Card fields that belong to one set of weights (kept only when the weights are the same).
WEIGHT_BOUND = ("subject", "evaluationBySet")


def load(checkpoint: Path) -> tuple[Tiramisu, dict]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = TiramisuConfig(**state["config"])
    net = Tiramisu(cfg)
    net.load_state_dict(state["model"])
    net.eval()
    return net, state


def write_parity_fixture(model, sha: str, out_dir: Path, multiple: int) -> None:
    """PyTorch's probabilities on two small synthetic inputs (a drawn figure on a gradient, and noise),
    for the TypeScript parity test. Synthetic on purpose: nothing derived from ../shared is committed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    h, w = 3 * multiple, 2 * multiple
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xx / w, yy / h, 0.5 + 0.0 * xx], -1)
    body = ((xx - w / 2) / (w * 0.22)) ** 2 + ((yy - h * 0.62) / (h * 0.36)) ** 2 < 1
    head = ((xx - w / 2) / (w * 0.12)) ** 2 + ((yy - h * 0.2) / (h * 0.1)) ** 2 < 1
    img[body | head] = [0.55, 0.35, 0.3]
    x1 = ((img - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)).transpose(2, 0, 1)[None]
    x2 = np.random.default_rng(1).standard_normal((1, 3, h, w)).astype(np.float32)
    x = np.concatenate([x1, x2]).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy().astype(np.float32)
    (out_dir / "input.f32").write_bytes(x.tobytes())
    (out_dir / "output.f32").write_bytes(y.tobytes())
    (out_dir / "meta.json").write_text(json.dumps({"modelSha256": sha, "inputDims": list(x.shape),
                                                   "outputDims": list(y.shape)}, indent=2) + "\n")


def training_section(checkpoint: Path, state: dict, prev: dict) -> dict:
    """What the checkpoint's run config says about how the weights were made."""
    resolved = checkpoint.resolve()
    rel = str(resolved.relative_to(HERE.parent)) if HERE.parent in resolved.parents else str(checkpoint)
    cfg = state.get("run_config")
    if cfg is None:  # a checkpoint from before run configs: keep the previous card's notes
        kept = ("data", "command", "wallTime", "hardware")
        keep = {k: v for k, v in (prev.get("training") or {}).items() if k in kept}
        return {"checkpoint": rel, "step": state.get("step"), "args": state.get("args"), **keep}
    used = [k for k in cfg["mixture"] if k in REGISTRY]
    used += [k for k in cfg.get("peopleSources", []) if k not in cfg["mixture"]]
    datasets = [{"name": n, "what": REGISTRY[n].what, "terms": REGISTRY[n].terms,
                 "mixtureWeight": cfg["mixture"].get(n, 0.0), "peopleSource": n in cfg.get("peopleSources", [])}
                for n in used]
    datasets += [{"name": BACKGROUNDS[0], "what": BACKGROUNDS[1], "terms": BACKGROUNDS[2],
                  "use": "composite backdrops"},
                 {"name": CUTOUTS[0], "what": CUTOUTS[1], "terms": CUTOUTS[2], "use": "composited people"}]
    return {
        "runConfig": f"models/configs/{cfg['name']}.json",
        "config": cfg,
        "checkpoint": rel,
        "step": state.get("step"),
        **({"averagedFrom": state["averaged_from"], "batchNormBatches": state.get("bn_batches")}
           if state.get("averaged_from") else {}),
        "validation": {"perSet": state.get("validation"), "selection": "geometric mean of per-set dataset IoU",
                       "score": state.get("val_score")},
        "datasets": datasets,
        "mixture": {k: v for k, v in cfg["mixture"].items() if k in SYNTHETIC_SOURCES},
        "command": f"/usr/bin/python3 models/train.py --config models/configs/{cfg['name']}.json",
        "licence": "Most training sets are for research use only: these weights are a research model, for "
                   "research and evaluation. A commercial model needs the same recipe retrained on licensed data.",
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=HERE / "checkpoints" / "people480-best.pt")
    p.add_argument("--out", type=Path, default=HERE / "tiramisu.onnx")
    p.add_argument("--card", type=Path, default=HERE / "tiramisu.card.json")
    p.add_argument("--version", required=True)
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--parity-dir", type=Path, default=HERE.parent / "test" / "fixtures" / "parity")
    p.add_argument("--training-notes", type=Path, help="JSON merged into the card's `training` field")
    p.add_argument("--eval-json", type=Path, help="JSON from `greenscreen eval --json`, stored as `evaluation`")
    args = p.parse_args(argv)

    net, state = load(args.checkpoint)
    model = ExportWrapper(net).eval()
    multiple = net.cfg.size_multiple
    dummy = torch.randn(1, 3, 320, 224)
    torch.onnx.export(
        model, dummy, str(args.out), opset_version=args.opset, input_names=["image"], output_names=["probability"],
        dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                      "probability": {0: "batch", 2: "height", 3: "width"}},
        do_constant_folding=True,
    )
    weights = args.out.read_bytes()
    sha = hashlib.sha256(weights).hexdigest()
    prev = json.loads(args.card.read_text()) if args.card.exists() else {}
    training = training_section(args.checkpoint, state, prev)
    if args.training_notes:
        training.update(json.loads(args.training_notes.read_text()))
    card = {
        "name": "tiramisu",
        "version": args.version,
        "architecture": "FC-DenseNet (Tiramisu, Jegou et al. 2017)",
        "preset": state.get("preset"),
        "config": net.cfg.to_dict(),
        "file": args.out.name,
        "sha256": sha,
        "bytes": len(weights),
        "parameters": count_parameters(net),
        "exportedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "opset": args.opset,
        "input": {
            "name": "image", "layout": "NCHW", "colorSpace": "sRGB",
            "longSide": int(state.get("long_side") or 320), "sizeMultiple": multiple,
            "mean": list(MEAN), "std": list(STD), "padValue": 0.0,
            "resize": "Pillow Image.BILINEAR (as training caches its data), aspect ratio preserved, "
                      "long side = longSide; pad bottom/right to sizeMultiple",
        },
        "output": {"name": "probability", "activation": "sigmoid",
                   "description": "N x 1 x H x W person probability at input resolution"},
        "threshold": 0.5,
        "training": training,
        "evaluation": json.loads(args.eval_json.read_text()) if args.eval_json else prev.get("evaluation", {}),
        "intendedUse": "Foreground (person) segmentation of photos of people for background removal.",
        "limitations": prev.get("limitations", []),
    }
    # Fields this script does not write are kept, except those that describe the previous weights:
    # new weights need their own subject rule (bench:subject --calibrate) and per-set figures.
    stale = [k for k in WEIGHT_BOUND if k in prev and prev.get("sha256") != sha]
    card.update({k: v for k, v in prev.items() if k not in card and k not in stale})
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    if stale:
        print(f"dropped {', '.join(stale)} from the card: they describe the previous weights "
              "(npm run bench:subject -- --model-card <card> --calibrate --write)")
    write_parity_fixture(model, sha, args.parity_dir, multiple)
    print(f"wrote {args.out} ({len(weights) / 1e6:.1f} MB, sha256 {sha[:12]}…) and {args.card}")


if __name__ == "__main__":
    main()
