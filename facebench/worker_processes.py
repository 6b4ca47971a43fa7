"""How DataLoader worker processes start: spawned, never forked.

A forked worker inherits every lock the parent held at the moment of the fork. The parent here is
multi-threaded (torch's intra-op pool, OpenCV's pool, tqdm's monitor, pytest's own threads), so a
worker can start with a lock that no thread will release and hang on its first `cv2.imdecode`.
We saw that happen, intermittently, in the test suite. Spawned workers start from a fresh
interpreter; the cost is importing torch and OpenCV once per worker (about 2 s, once per loader).
"""
from __future__ import annotations

from typing import Optional


def worker_start_method(num_workers: int) -> Optional[str]:
    """The `multiprocessing_context` for a DataLoader with `num_workers` workers (None for 0: the
    DataLoader refuses a context without workers)."""
    return "spawn" if num_workers > 0 else None
