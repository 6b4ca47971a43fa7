"""`torchrun --nproc_per_node 2 -m facebench eval` (gloo on CPU): shards merge into the same result."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not found next to the Python interpreter")
def test_two_process_eval_equals_single_process(tmp_path):
    common = ["eval", "--limit", "4", "--enhancer", "gamma", "--qf", "90", "--bootstrap", "50", "--workers", "0",
              "--device", "cpu", "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    two = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "facebench", *common,
                          "--out", str(tmp_path / "two"), "--cache-dir", str(tmp_path / "cache2")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "facebench", *common, "--out", str(tmp_path / "one"),
                          "--cache-dir", str(tmp_path / "cache1")], capture_output=True, text=True, env=env, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    r2 = json.loads((tmp_path / "two" / "results.json").read_text())
    r1 = json.loads((tmp_path / "one" / "results.json").read_text())
    assert r2["world_size"] == 2 and r1["world_size"] == 1
    assert r2["runs"][0]["timings"]["images_computed"] == 2  # rank 0's shard; rank 1 computed the other 2
    assert r2["runs"][0]["metrics"]["num_images"] == 4
    for iou in ("0.3", "0.5", "0.7"):
        assert r2["runs"][0]["metrics"]["official"]["iou"][iou]["ap"] == pytest.approx(
            r1["runs"][0]["metrics"]["official"]["iou"][iou]["ap"], abs=1e-6)
    assert r2["runs"][0]["cache_key"] == r1["runs"][0]["cache_key"]
