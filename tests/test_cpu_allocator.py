"""The `facebench` command's malloc settings: large freed blocks are reused, not page-faulted in again."""
import os
import platform
import subprocess
import sys

import pytest

from facebench.cpu_allocator import raise_malloc_thresholds

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="glibc's mallopt is Linux/glibc only")

_FAULTS = """
import resource, sys
import numpy as np
from facebench.cpu_allocator import raise_malloc_thresholds
print(raise_malloc_thresholds() if sys.argv[1] == "raise" else "default")
np.ones(8 << 20)                                   # 64 MB, allocated, written and freed once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    np.ones(8 << 20)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str, env: dict) -> tuple:
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True,
                         env=env).stdout.split()
    return out[0], int(out[1])


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items()
            if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "FACEBENCH_MALLOC")}


def test_raised_thresholds_reuse_a_freed_64_mb_block_instead_of_faulting_it_in_again():
    env = _clean_env()
    _, default = _faults("default", env)
    applied, raised = _faults("raise", env)
    assert applied == "True"
    assert default > 100                      # glibc's default: fresh mmap pages for every 64 MB array
    assert raised < 0.1 * default


@pytest.mark.parametrize("setting", [{"MALLOC_TRIM_THRESHOLD_": "1000000"}, {"FACEBENCH_MALLOC": "glibc"}])
def test_malloc_settings_chosen_by_the_user_win(setting):
    applied, _ = _faults("raise", {**_clean_env(), **setting})
    assert applied == "False"


def test_limit_outside_what_mallopt_takes_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"limit_bytes must be in \(0, 2\*\*31\), got 4294967296"):
        raise_malloc_thresholds(1 << 32)
