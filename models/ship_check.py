"""Does a candidate ship? The rule of the training campaign (issue #16), applied to two measurements:

  /usr/bin/python3 models/ship_check.py --shipped-card models/tiramisu.card.json --candidate-eval eval.json \
      [--shipped-eval shipped-eval.json] \
      --shipped-validation shipped-val.json --candidate-validation candidate-val.json

A candidate ships when its validation geometric mean (train.py --validate-only, the selection score)
beats the shipped model's, and no set of `greenscreen eval --json` (ccp/test included, read only
now) is more than --margin (0.02) below the shipped model's figure in the card's `evaluationBySet`.
Prints one row per set (with the photos each model called "nobody", where either did) and the verdict;
exit 0 = ships, 1 = does not.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shipped-card", type=Path, required=True)
    p.add_argument("--candidate-eval", type=Path, required=True, help="greenscreen eval --json of the candidate")
    p.add_argument("--shipped-validation", type=Path, required=True, help="train.py --validate-only of the shipped")
    p.add_argument("--candidate-validation", type=Path, required=True, help="train.py --validate-only of the candidate")
    p.add_argument("--shipped-eval", type=Path,
                   help="greenscreen eval --json of the shipped model, measured beside the candidate's (instead of "
                        "the card's figures: use it when the eval itself has changed since the card was written)")
    p.add_argument("--margin", type=float, default=0.02)
    args = p.parse_args(argv)
    shipped = (json.loads(args.shipped_eval.read_text().strip().splitlines()[-1])["sets"] if args.shipped_eval
               else json.loads(args.shipped_card.read_text())["evaluationBySet"]["sets"])
    cand = json.loads(args.candidate_eval.read_text().strip().splitlines()[-1])["sets"]
    v_old = json.loads(args.shipped_validation.read_text().strip().splitlines()[-1])["geomean"]
    v_new = json.loads(args.candidate_validation.read_text().strip().splitlines()[-1])["geomean"]
    ok = v_new > v_old
    verdict = "better" if ok else "NOT better"
    print(f"validation geometric mean: shipped {v_old:.4f}, candidate {v_new:.4f} -> {verdict}")
    for name, old in shipped.items():
        if name not in cand:
            print(f"{name:16s} missing from the candidate's eval -> NOT measured")
            ok = False
            continue
        new = cand[name]["datasetIoU"]
        fine = new >= old["datasetIoU"] - args.margin
        ok = ok and fine
        print(f"{name:16s} shipped {old['datasetIoU']:.4f}  candidate {new:.4f}  {new - old['datasetIoU']:+.4f}"
              f"{'' if fine else f'  more than {args.margin} below'}{nobody(old, cand[name])}")
    print("ships" if ok else "does not ship")
    return 0 if ok else 1


def nobody(old: dict, new: dict) -> str:
    """Photos of people the model called "nobody" (an empty map under its rule): not part of the rule, shown
    because a model that leaves more maps empty moves the subject bench's counts (`npm run bench:subject`)."""
    if "noSubject" not in old or "noSubject" not in new or old["noSubject"] == new["noSubject"] == 0:
        return ""
    return f"  (called nobody: {old['noSubject']} -> {new['noSubject']} of {new['n']})"


if __name__ == "__main__":
    sys.exit(main())
