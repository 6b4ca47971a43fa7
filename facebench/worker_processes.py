"""How DataLoader worker processes start: from a fork server, never forked from the caller.

A worker forked from the calling process inherits every lock held at the moment of the fork. The caller
is multi-threaded (torch's intra-op pool, OpenCV's pool, tqdm's monitor, pytest's own threads), so a
worker can start with a lock that no thread will release and hang on its first `cv2.imdecode`; we saw
that happen, intermittently, in the test suite. Workers here fork from a fork server: a single-threaded
process started once, which imports facebench's pipeline (torch, OpenCV) before any worker exists, so a
worker starts in milliseconds instead of the ~2 s a freshly spawned interpreter needs to import torch
(benchmarks/README.md). Where there is no fork server (Windows), workers are spawned.
"""
from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext
from typing import Optional

_PRELOAD = ["facebench.pipeline"]


def worker_context(num_workers: int) -> Optional[BaseContext]:
    """The `multiprocessing_context` for a DataLoader with `num_workers` workers (None for 0: the
    DataLoader refuses a context without workers)."""
    if num_workers == 0:
        return None
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context
