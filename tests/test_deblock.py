"""The `deblock` enhancer and its trainer: sizes, overfitting, checkpoint round trip, exact resume."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from facebench.checkpoint import CheckpointError, save_checkpoint
from facebench.enhancers import deblock_train
from facebench.enhancers.deblock import DEFAULT_WEIGHTS, Deblock, DeblockNet, DeblockNetConfig, load_deblock_net
from facebench.enhancers.deblock_train import DeblockTrainConfig, export_weights, make_batch, train, train_deblock

TINY = DeblockNetConfig(width=8, blocks=1)


@pytest.fixture
def photos(tmp_path):
    """A folder of three small smooth colour photos (PNG)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    yy, xx = np.mgrid[0:40, 0:48] / 5.0
    for i in range(3):
        rgb = np.stack([128 + 100 * np.sin(xx * (1 + c * 0.3) + yy * (0.5 + i)) for c in range(3)], -1)
        cv2.imwrite(str(folder / f"{i}.png"), np.clip(rgb, 0, 255).astype(np.uint8))
    return folder


def _config(photos, **kw):
    base = dict(data=(str(photos),), qfs=(20, 40), steps=4, batch=2, crop=32, lr=1e-3, seed=5, architecture=TINY)
    base.update(kw)
    return DeblockTrainConfig(**base)


@pytest.mark.parametrize("h, w", [(17, 23), (8, 9), (1, 1)])
def test_net_keeps_size_for_odd_shapes(h, w):
    net = DeblockNet(TINY)
    out = net(torch.rand(2, 3, h, w), torch.tensor([90.0, 0.0]))
    assert out.shape == (2, 3, h, w)


def test_enhancer_round_trip_and_sizes(photos, tmp_path):
    torch.manual_seed(0)
    net = DeblockNet(TINY).eval()
    with torch.no_grad():  # leave the zero (identity) initialisation so the QF channel has an effect
        for p in net.parameters():
            p.normal_(0, 0.1)
    path = tmp_path / "w.pt"
    export_weights(net, path, _config(photos), [photos / "0.png"], 4, 0.1)
    blind, told = Deblock(weights=str(path)), Deblock(weights=str(path), qf=70)
    x = torch.rand(3, 3, 19, 26)
    expected = net(x, torch.zeros(3)).clamp(0, 1)
    assert torch.allclose(blind.enhance(x), expected, atol=1e-6)
    assert torch.allclose(told.enhance(x), net(x, torch.full((3,), 70.0)).clamp(0, 1), atol=1e-6)
    assert not torch.allclose(blind.enhance(x), told.enhance(x))  # the QF channel matters
    assert blind.identity()["weights"]["source"] == "user file" and told.settings()["qf"] == 70
    assert len(blind.identity()["weights"]["sha256"]) == 64


def test_wrong_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "other.pt"
    save_checkpoint(path, {"model": {"w": torch.zeros(1)}, "metadata": {"enhancer": "zerodce"}})
    with pytest.raises(CheckpointError, match="not a deblock checkpoint"):
        load_deblock_net(path)


def test_shipped_default_weights():
    assert DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.stat().st_size < 5 * 2 ** 20
    enhancer = Deblock()
    x = torch.rand(1, 3, 21, 30)
    y = enhancer.enhance(x)
    assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1
    assert enhancer.weights.source == "shipped with facebench"


def test_batches_are_deterministic_and_varied(photos):
    images = deblock_train.load_photos(deblock_train.find_photos([str(photos)]), 32)
    config = _config(photos, blind_prob=0.5, dark_prob=0.5)
    a, b = make_batch(images, config, 3), make_batch(images, config, 3)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    low, high, qf = a
    assert low.shape == high.shape == (2, 3, 32, 32) and set(qf.tolist()) <= {0.0, 20.0, 40.0}
    assert (low - high).abs().max() > 0  # compression changed the crops
    assert not torch.equal(make_batch(images, config, 4)[1], high)


def test_tiny_overfit_lowers_loss(photos):
    torch.manual_seed(0)
    images = deblock_train.load_photos(deblock_train.find_photos([str(photos)]), 32)
    low, high, qf = make_batch(images, _config(photos, qfs=(10,), blind_prob=0.0, dark_prob=0.0), 0)
    net = DeblockNet(DeblockNetConfig(width=16, blocks=2))
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    first = F.l1_loss(net(low, qf), high).item()
    for _ in range(80):
        loss = F.l1_loss(net(low, qf), high)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.6 * first


def test_resume_is_exact(photos, tmp_path, monkeypatch):
    config = _config(photos)
    full = load_deblock_net(train(config, tmp_path / "full", torch.device("cpu"), save_every=2, progress=False))[0]

    real = deblock_train.make_batch

    def killed_at_step_2(images, cfg, step):
        if step == 2:
            raise KeyboardInterrupt
        return real(images, cfg, step)

    monkeypatch.setattr(deblock_train, "make_batch", killed_at_step_2)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "cut", torch.device("cpu"), save_every=2, progress=False)
    monkeypatch.setattr(deblock_train, "make_batch", real)
    resumed = load_deblock_net(train(config, tmp_path / "cut", torch.device("cpu"), resume=True, save_every=2,
                                     progress=False))[0]
    for key, value in full.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    steps = [line.split(",")[0] for line in (tmp_path / "cut" / "log.csv").read_text().splitlines()[1:]]
    assert steps == ["4"]  # logged once, by the resumed run (log_every 20 > steps)


def test_resume_with_other_options_is_refused(photos, tmp_path):
    run = tmp_path / "run"
    train(_config(photos, steps=2), run, torch.device("cpu"), save_every=1, progress=False)
    with pytest.raises(CheckpointError, match="differs"):
        train(_config(photos, steps=2, lr=5e-3), run, torch.device("cpu"), resume=True, progress=False)


def test_cli_trains_and_exports(photos, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(train_deblock, ["--data", str(photos), "--out", str(out), "--steps", "2", "--batch",
                                                "1", "--crop", "32", "--width", "4", "--blocks", "1", "--qf", "30-32",
                                                "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    net, meta = load_deblock_net(out / "deblock.pt")
    assert meta["training"]["qfs"] == [30, 31, 32] and meta["steps"] == 2 and net.config.width == 4
    bad = CliRunner().invoke(train_deblock, ["--data", str(photos), "--out", str(out), "--crop", "40"])
    assert bad.exit_code != 0 and "multiple of 16" in bad.output
