"""A real `facebench eval` process killed (SIGKILL) midway resumes without recomputing finished images."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np


def test_killed_eval_resumes(tmp_path):
    cache = tmp_path / "cache"
    args = [sys.executable, "-m", "facebench", "eval", "--limit", "6", "--enhancer", "gamma", "--qf", "70",
            "--batch-size", "1", "--workers", "0", "--device", "cpu", "--bootstrap", "0", "--no-progress",
            "--cache-dir", str(cache)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(args + ["--out", str(tmp_path / "killed")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(cache.glob("*/[!.]*.npy"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(cache.glob("*/[!.]*.npy")))
    assert 2 <= done < 6, f"kill came too late or too early ({done} images cached)"
    for entry in cache.glob("*/[!.]*.npy"):  # finished entries are complete (writes are atomic)
        assert np.load(entry).shape[1:] == (5,)

    finished = subprocess.run(args + ["--out", str(tmp_path / "resumed")], env=env, capture_output=True, text=True,
                              timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    runs = json.loads((tmp_path / "resumed" / "results.json").read_text())["runs"]  # the none baseline and gamma
    assert sum(run["timings"]["images_cached"] for run in runs) == done
    assert sum(run["timings"]["images_computed"] for run in runs) == 6 * len(runs) - done
    assert all(run["metrics"]["num_images"] == 6 for run in runs)
