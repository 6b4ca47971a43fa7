"""MLSM training: frozen VAEs in the mapping stage, exact resume, export round trip, a tiny overfit,
the CLI's missing-VGG message, and a 2-process torchrun (gloo) run."""
from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facebench.checkpoint import load_checkpoint
from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.data import DataConfig, TrainingData
from facebench.mlsm.train import MLSMTrainer, TrainOptions

TINY = ModelConfig(levels=2, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1)
LOSS = LossConfig(perceptual_kind="ssim", gan=0.01)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models run faster on one thread


def _image(seed: int, size: int = 48) -> np.ndarray:
    """A smooth random uint8 RGB [size, size, 3] picture."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _data(crop: int = 32) -> TrainingData:
    highs = [_image(i) for i in range(3)]
    pairs = [((h // 6).astype(np.uint8), h) for h in highs]
    cfg = DataConfig(val_count=1, qfs=(80, 90), crop=crop)
    return TrainingData(cfg, pairs=pairs[:2], val=[("v", *pairs[2])], dark=[p[0] for p in pairs[:2]],
                        normal=highs[:2], synthetic=highs[:2])


def _trainer(tmp_path: Path, **opts) -> MLSMTrainer:
    base = dict(out_dir=str(tmp_path), steps=4, vae_steps=4, batch_size=2, checkpoint_every=2, val_every=100,
                log_every=1, progress=False)
    return MLSMTrainer(TINY, LOSS, _data(), TrainOptions(**{**base, **opts}))


def test_vaes_get_no_gradient_in_mapping_stage(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.metadata["stages"] = {"vae-dark": {}, "vae-normal": {}}
    stage = trainer._stage("mapping")
    trainer._prepare(stage)
    vae_before = {k: v.clone() for k, v in trainer.model.state_dict().items() if k.startswith("vae_")}
    opt_g, opt_d, sched_g, sched_d = trainer.optimizers(stage)
    trainer.step(stage, opt_g, opt_d, sched_g, sched_d, 0)
    for name, p in trainer.model.named_parameters():
        if name.startswith("vae_"):
            assert p.grad is None, name
    assert all(torch.equal(v, trainer.model.state_dict()[k]) for k, v in vae_before.items())
    assert any(p.grad is not None for p in trainer.model.mapping.parameters())


def _rows(path: Path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_resume_reproduces_the_next_steps_exactly(tmp_path, monkeypatch):
    full = _trainer(tmp_path / "full")
    full.run_stage("vae-dark")
    reference = _rows(tmp_path / "full" / "vae-dark" / "train.csv")

    interrupted = _trainer(tmp_path / "cut")
    original = MLSMTrainer.step

    def stop_at_two(self, stage, *args):
        if args[-1] == 2:
            raise KeyboardInterrupt
        return original(self, stage, *args)

    monkeypatch.setattr(MLSMTrainer, "step", stop_at_two)
    with pytest.raises(KeyboardInterrupt):
        interrupted.run_stage("vae-dark")
    monkeypatch.setattr(MLSMTrainer, "step", original)
    assert load_checkpoint(tmp_path / "cut" / "vae-dark" / "last.pt")["step"] == 2

    resumed = _trainer(tmp_path / "cut", resume=True)
    resumed.run_stage("vae-dark")
    rows = _rows(tmp_path / "cut" / "vae-dark" / "train.csv")
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"]
    assert rows == reference
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_export_round_trip_into_the_plugin(tmp_path):
    from facebench.enhancers.mlsm import MLSMEnhancer

    trainer = _trainer(tmp_path, steps=2, vae_steps=2)
    results = trainer.run()
    assert set(results) == {"vae-dark", "vae-normal", "mapping"}
    assert set(results["mapping"]) == {"psnr", "ssim", "psnr_b", "count"}
    export = load_checkpoint(tmp_path / "mlsm.pt")
    meta = export["metadata"]
    assert meta["config"] == TINY.as_dict() and meta["perceptual"]["kind"] == "ssim"
    assert set(meta["stages"]) == {"vae-dark", "vae-normal", "mapping"}
    # same seed, other torch or thread count: other rounding, another model (card, phase 15)
    environment = meta["stages"]["mapping"]["environment"]
    assert torch.__version__.startswith(environment["packages"]["torch"])
    assert environment["torch_threads"] == torch.get_num_threads()
    enhancer = MLSMEnhancer(weights=str(tmp_path / "mlsm.pt"))
    image = torch.rand(1, 3, 40, 56)
    trainer.model.eval()
    with torch.no_grad():
        from facebench.mlsm.inference import enhance_padded
        # the plugin holds exactly the trained weights and, run in its channels-last layout, gives exactly
        # the trained model's output
        exported = enhancer.net.state_dict()
        assert all(torch.equal(exported[k], v) for k, v in trainer.model.state_dict().items())
        trained = trainer.model.to(memory_format=torch.channels_last)
        channels_last = image.contiguous(memory_format=torch.channels_last)
        assert torch.equal(enhancer(image), enhance_padded(trained, channels_last))


def test_tiny_overfit_loss_falls(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(no_mapping=True, levels=2, width=16, latent_channels=8)
    trainer = MLSMTrainer(cfg, LossConfig(perceptual=0.0, perceptual_kind="ssim", gan=0.0), _data(),
                          TrainOptions(out_dir=str(tmp_path), progress=False))
    stage = trainer._stage("mapping")
    trainer._prepare(stage)
    batch = trainer.data.batch("pair", 2, seed=0, step=0)
    optimizer = torch.optim.Adam(stage.net.parameters(), lr=3e-3)
    losses = []
    for _ in range(300):
        terms, _, _ = trainer.compute_losses(stage, batch)
        optimizer.zero_grad()
        terms["l1"].backward()
        optimizer.step()
        losses.append(float(terms["l1"].detach()))
    assert losses[-1] < losses[0] / 5, (losses[0], losses[-1])


def test_cli_missing_vgg_stops_with_one_line(tmp_path, monkeypatch):
    from facebench.mlsm.train_cli import train_mlsm

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folder = tmp_path / "normal"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), _image(0))
    result = CliRunner().invoke(train_mlsm, ["--out", str(tmp_path / "run"), "--normal", str(folder),
                                             "--stage", "vae-normal", "--width", "8"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--perceptual ssim" in lines[0] and "--vgg-weights" in lines[0]


def _torchrun(cmd, timeout: int = 240) -> subprocess.CompletedProcess:
    """Run `cmd` (a torchrun command) in its own process group; kill the group (torchrun and its workers)
    on timeout."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _killed_by_signal(stderr: str) -> bool:
    """torchrun's log says the first worker to fail died from a signal (a negative exit code, e.g. -6 for
    SIGABRT), not from a Python error (exit code 1)."""
    return re.search(r"failed \(exitcode: -\d+\) local_rank", stderr) is not None


def test_torchrun_two_cpu_processes(tmp_path):
    low, high = tmp_path / "pairs" / "low", tmp_path / "pairs" / "high"
    low.mkdir(parents=True)
    high.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(high / f"{i}.png"), _image(i))
        cv2.imwrite(str(low / f"{i}.png"), _image(i) // 6)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "facebench", "train-enhancer", "mlsm", "--out", str(out), "--paired", str(tmp_path / "pairs"),
           "--val-count", "1", "--test-count", "0", "--no-mapping", "--levels", "2", "--width", "8",
           "--latent-channels", "4",
           "--perceptual", "ssim", "--steps", "3", "--batch-size", "1", "--crop", "32", "--threads", "1",
           "--device", "cpu", "--no-progress"]
    run = _torchrun(cmd)
    if run.returncode != 0 and _killed_by_signal(run.stderr):
        # A gloo worker aborted once in CI (SIGABRT, not reproduced in 70 local runs). The run is
        # deterministic, so a fault of ours fails again; a one-off transport abort is retried, and said.
        warnings.warn(f"torchrun worker died from a signal; retried once. Its stderr:\n{run.stderr[:4000]}")
        shutil.rmtree(out, ignore_errors=True)
        run = _torchrun(cmd)
    assert run.returncode == 0, run.stderr[:4000] + "\n...\n" + run.stderr[-1500:]
    meta = load_checkpoint(out / "mlsm.pt")["metadata"]
    assert meta["world_size"] == 2 and meta["stages"]["mapping"]["steps"] == 3


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    from facebench.training import NonFiniteLossError

    trainer = _trainer(tmp_path)
    original = MLSMTrainer.compute_losses

    calls = []

    def nan_at_step_three(self, stage, batch):
        terms, output, target = original(self, stage, batch)
        calls.append(1)
        if len(calls) == 3:  # steps 0 and 1 are fine, checkpoint at step 2, then NaN
            terms["l1"] = terms["l1"] * float("nan")
        return terms, output, target

    monkeypatch.setattr(MLSMTrainer, "compute_losses", nan_at_step_three)
    with pytest.raises(NonFiniteLossError, match="'l1' is nan at step 2.*last.pt"):
        trainer.run_stage("vae-dark")
    kept = load_checkpoint(tmp_path / "vae-dark" / "last.pt")
    assert kept["step"] == 2 and all(torch.isfinite(v).all() for v in kept["modules"]["net"].values())


def test_synthetic_darks_reach_darkface_brightness():
    """DARK FACE frames have mean brightness 0.021..0.054; synthetic training darks must cover it (the v2
    model never saw inputs darker than about 0.07 and amplified JPEG blocks on real frames)."""
    data = _data(crop=32)
    rng = np.random.default_rng(0)
    means = np.array([data._synthetic_pair(rng)[0].mean() / 255 for _ in range(200)])
    assert means.min() < 0.02 and np.mean(means < 0.054) > 0.3 and means.max() > 0.12
