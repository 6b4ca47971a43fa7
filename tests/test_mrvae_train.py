"""MR-VAE training: data split and batches, the authors' loss reductions, one step, exact resume, NaN guard, CLI."""
import csv

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facebench.checkpoint import CheckpointError
from facebench.cli import main as facebench_main
from facebench.enhancers.mrvae import train as train_module
from facebench.enhancers.mrvae.data import DataConfig, PairSource, training_pairs
from facebench.enhancers.mrvae.enhancer import MRVAE
from facebench.enhancers.mrvae.losses import LossWeights, mrvae_losses
from facebench.enhancers.mrvae.model import MRVAEConfig, MRVAENet, init_authors
from facebench.enhancers.mrvae.train import TrainConfig, train
from facebench.enhancers.mrvae.train_cli import build_config
from facebench.enhancers.mrvae.weights import load_weights
from facebench.pairs import find_pairs, read_pair
from facebench.training import NonFiniteLossError, seed_everything

pytestmark = pytest.mark.usefixtures("one_thread")


def _photo(seed: int, scale: float = 1.0) -> np.ndarray:
    yy, xx = np.mgrid[0:48, 0:48] / 6.0
    rgb = np.stack([128 + 100 * np.sin(xx * (1 + 0.3 * c) + yy * (0.5 + seed)) for c in range(3)], -1)
    return np.clip(rgb * scale, 0, 255).astype(np.uint8)


@pytest.fixture
def folders(tmp_path):
    """paired/ with 5 pairs p0..p4 (low = high / 6) and synthetic/ with 2 photos, 48 x 48 PNGs."""
    for side in ("low", "high"):
        (tmp_path / "paired" / side).mkdir(parents=True)
    (tmp_path / "synthetic").mkdir()
    for i in range(5):
        cv2.imwrite(str(tmp_path / "paired" / "high" / f"p{i}.png"), _photo(i))
        cv2.imwrite(str(tmp_path / "paired" / "low" / f"p{i}.png"), _photo(i, 1 / 6))
    for i in range(2):
        cv2.imwrite(str(tmp_path / "synthetic" / f"s{i}.png"), _photo(10 + i))
    return tmp_path


def _config(folders, steps=2, **data) -> TrainConfig:
    options = dict(paired=(str(folders / "paired"),), synthetic=(str(folders / "synthetic"),), holdout=2,
                   crop=32, batch_size=2, qfs=(70, 90), seed=3)
    options.update(data)
    return TrainConfig(data=DataConfig(**options), architecture=MRVAEConfig(2), steps=steps, save_every=1, log_every=1)


def test_last_pairs_by_name_are_held_out(folders):
    kept = training_pairs(folders / "paired", holdout=2)
    expected = [read_pair(p) for p in find_pairs(folders / "paired")[:3]]
    assert len(kept) == 3 and all(np.array_equal(a[1], b[1]) for a, b in zip(kept, expected))
    with pytest.raises(ValueError, match="all held out"):
        training_pairs(folders / "paired", holdout=5)


def test_batches_depend_only_on_seed_and_step(folders):
    source = PairSource(_config(folders).data)
    low, high = source.batch(4)
    assert low.shape == high.shape == (2, 3, 32, 32) and low.dtype == torch.float32
    assert 0 <= low.min() and high.max() <= 1
    assert torch.equal(PairSource(_config(folders).data).batch(4)[0], low)
    assert not torch.equal(source.batch(5)[1], high)
    dark, bright = PairSource(_config(folders, synthetic_fraction=1.0).data).batch(0)
    assert dark.mean() < 0.5 * bright.mean()  # synthetic darkening


def test_synthetic_darks_reach_darkface_brightness(folders):
    """DARK FACE frames have mean brightness 0.021..0.054; synthetic training darks must cover it (the old
    exposure model's darks had means 0.07..0.22 and never did)."""
    source = PairSource(_config(folders, synthetic_fraction=1.0, qfs=()).data)
    rng = np.random.default_rng(0)
    means = np.array([source._example(rng)[0].mean() / 255 for _ in range(200)])
    assert means.min() < 0.02 and np.mean(means < 0.054) > 0.3 and means.max() > 0.12


@pytest.mark.parametrize("bad", [(0.0, 0.2), (0.3, 0.1), (0.1, 1.5)])
def test_bad_brightness_range_is_one_line_error(folders, bad):
    with pytest.raises(ValueError, match="brightness_range must be 0 < low <= high <= 1"):
        DataConfig(paired=(str(folders / "paired"),), brightness_range=bad)
    result = CliRunner().invoke(facebench_main, ["train-enhancer", "mrvae", "--out", str(folders / "run"),
                                                 "--paired", str(folders / "paired"), "--brightness-range",
                                                 *map(str, bad)])
    assert result.exit_code != 0 and "brightness_range must be" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_losses_reduce_over_height_as_the_tf_graph():
    """Against the authors' NHWC formulas (reduce_sum over axis 1 = height, then reduce_mean)."""
    g = torch.Generator().manual_seed(0)
    out = {k: torch.rand(2, 3, 32, 16, generator=g) for k in ("GR", "DR")}
    out.update({k: torch.rand(2, 8, 2, 1, generator=g) for k in ("z", "z_mean", "z_log_var")})
    target, z_target = torch.rand(2, 3, 32, 16, generator=g), torch.rand(2, 8, 2, 1, generator=g)
    nhwc = {k: v.permute(0, 2, 3, 1).double().numpy() for k, v in {**out, "t": target, "z1": z_target}.items()}
    expected = {
        "gr_l2": 10 * np.mean(np.sum((nhwc["GR"] - nhwc["t"]) ** 2, axis=1)),
        "dr_l1": np.mean(np.sum(np.abs(nhwc["t"] - nhwc["DR"]), axis=1)),
        "kl": np.mean(-0.5 * np.sum(1 + nhwc["z_log_var"] - nhwc["z_mean"] ** 2 - np.exp(nhwc["z_log_var"]), axis=1)),
        "content": np.mean(np.sum((nhwc["z"] - nhwc["z1"]) ** 2, axis=1)),
    }
    losses = mrvae_losses(out, target, z_target, LossWeights())
    assert set(losses) == set(expected)
    for name, value in expected.items():
        assert float(losses[name]) == pytest.approx(value, rel=1e-5), name


def test_one_step_changes_the_weights(folders, tmp_path):
    weights = train(_config(folders, steps=1), tmp_path / "run", device="cpu")
    trained, metadata = load_weights(weights)
    seed_everything(3)
    initial = MRVAENet(MRVAEConfig(2))
    init_authors(initial)
    changed = [k for k, v in initial.state_dict().items() if not torch.equal(v, trained.state_dict()[k])]
    assert "encoder.downsampling1.Conv.weight" in changed and "decoder_second.DR_out3.bias" in changed
    assert all(torch.isfinite(v).all() for v in trained.state_dict().values())
    assert metadata["steps"] == 1 and set(metadata["final_loss_terms"]) == {"gr_l2", "dr_l1", "kl", "content"}


def test_resume_is_exact(folders, tmp_path):
    straight, _ = load_weights(train(_config(folders, steps=2), tmp_path / "a", device="cpu"))
    train(_config(folders, steps=1), tmp_path / "b", device="cpu")
    resumed, _ = load_weights(train(_config(folders, steps=2), tmp_path / "b", device="cpu", resume=True))
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    with open(tmp_path / "b" / "log.csv") as f:
        assert [row["step"] for row in csv.DictReader(f)] == ["1", "2"]
    with pytest.raises(CheckpointError, match="different data"):
        train(_config(folders, steps=3, crop=16), tmp_path / "b", device="cpu", resume=True)


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(folders, tmp_path, monkeypatch):
    train(_config(folders, steps=1), tmp_path / "run", device="cpu")
    real_step = train_module.training_step

    def poisoned(net, low, high, weights, ctx):
        losses = real_step(net, low, high, weights, ctx)
        return {**losses, "kl": losses["kl"] * float("nan")}

    monkeypatch.setattr(train_module, "training_step", poisoned)
    with pytest.raises(NonFiniteLossError, match="'kl' is nan at step 1.*last.pt"):
        train(_config(folders, steps=2), tmp_path / "run", device="cpu", resume=True)


def test_command_trains_weights_the_enhancer_loads(folders, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(facebench_main, [
        "train-enhancer", "mrvae", "--out", str(out), "--paired", str(folders / "paired"), "--synthetic",
        str(folders / "synthetic"), "--holdout", "2", "--width", "2", "--crop", "32", "--batch-size", "2",
        "--steps", "1", "--qfs", "90", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert (out / "mrvae.pt").is_file() and (out / "last.pt").is_file() and (out / "config.json").is_file()
    assert MRVAE(weights=str(out / "mrvae.pt"))(torch.full((1, 3, 20, 20), 0.1)).shape == (1, 3, 20, 20)


def test_presets():
    common = dict(paired=("p",), synthetic=(), holdout=25, width=None, crop=None, resize=None, qfs=None, steps=None,
                  batch_size=None, lr=1e-3, synthetic_fraction=0.5, brightness_range=(0.012, 0.2), seed=0,
                  save_every=200, log_every=20)
    cpu, paper = build_config(paper=False, **common), build_config(paper=True, **common)
    assert cpu.architecture.width == 16 and cpu.data.crop == 128 and cpu.data.qfs == tuple(range(60, 101))
    assert paper.architecture.width == 64 and paper.data.resize == 512 and paper.data.qfs == ()
    assert build_config(paper=True, **{**common, "width": 32}).architecture.width == 32
