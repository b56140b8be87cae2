"""Process settings for fast CPU training, chosen by measurement (models/bench_train.py --allocator).

glibc's malloc hands large freed blocks (a step's activations, tens of MB each) back to the kernel
and maps them afresh on the next step, so every step re-faults its memory page by page: measured
on this 2-core machine, ~65,000 page faults/s, 60 % of the CPU in the kernel and 3.3 crops/s.
Keeping freed memory in the process (no trimming, a large top pad) gave 7.2 crops/s on the same
recipe, with the same losses step for step. glibc reads these variables once, at start-up, so a
script that wants them re-executes itself with them set.
"""
from __future__ import annotations

import os
import sys

KEEP_FREED_MEMORY = {
    "MALLOC_MMAP_THRESHOLD_": "4294967296",
    "MALLOC_TRIM_THRESHOLD_": "68719476736",
    "MALLOC_TOP_PAD_": "1073741824",
}


def ensure_allocator_env(enabled: bool = True) -> None:
    """Re-execute this script with KEEP_FREED_MEMORY set, unless it is set already (or disabled)."""
    if not enabled or all(os.environ.get(k) == v for k, v in KEEP_FREED_MEMORY.items()):
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **KEEP_FREED_MEMORY})
