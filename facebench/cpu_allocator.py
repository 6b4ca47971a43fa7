"""Keep glibc from handing large freed blocks back to the kernel between tensor allocations.

glibc serves an allocation above its mmap threshold (dynamic, at most 32 MB) with fresh pages from mmap()
and unmaps them when it is freed, so on the CPU every large activation (a 32-channel float map of a
1080x720 frame is 100 MB) is page-faulted and zeroed by the kernel again at every layer. Measured on this
project's 2-core machine, MLSM on one 1080x720 frame: 4.54 s with glibc's defaults, most of the difference
in kernel time, and 2.19 s with both thresholds raised to 1 GiB (benchmarks/README.md).
The cost: freed memory stays with the process, so its RSS no longer shrinks after a peak.

This is what PyTorch's CPU performance guide gets from jemalloc or tcmalloc via LD_PRELOAD, without a
dependency. The `facebench` command applies it on start (`FACEBENCH_MALLOC=glibc` keeps glibc's defaults);
library users may call `raise_malloc_thresholds`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # mallopt parameter numbers, glibc <malloc.h>
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def raise_malloc_thresholds(limit_bytes: int = 1 << 30) -> bool:
    """Serve allocations up to `limit_bytes` from the heap and keep up to that much freed memory in it.

    Returns True when applied; False (nothing changed) off glibc, with FACEBENCH_MALLOC=glibc, or when the user
    already chose malloc settings through the environment (MALLOC_*_ variables or glibc.malloc tunables).
    """
    if not 0 < limit_bytes < 1 << 31:
        raise ValueError(f"limit_bytes must be in (0, 2**31), got {limit_bytes}")
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if os.environ.get("FACEBENCH_MALLOC") == "glibc":
        return False
    if any(name in os.environ for name in _USER_SETTINGS) or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, ctypes.c_int(limit_bytes))
                and libc.mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(limit_bytes)))
