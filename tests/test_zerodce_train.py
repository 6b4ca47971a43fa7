"""Zero-DCE training: the zero-reference losses, a few steps lowering the loss, exact resume, NaN guard."""
import csv

import pytest
import torch
from click.testing import CliRunner

from facebench.cli import main
from facebench.datasets.images import read_image
from facebench.enhancers import zerodce_train
from facebench.enhancers.zerodce import ZeroDCE
from facebench.enhancers.zerodce_losses import (color_constancy_loss, exposure_loss, illumination_smoothness_loss,
                                                spatial_consistency_loss, zero_reference_losses)
from facebench.enhancers.zerodce_train import ZeroDCETrainConfig, load_batch, train
from facebench.training import NonFiniteLossError


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def dark(shared, tmp_path):
    """Four tiny (48 x 64) crops of real dark photos (DICM) written as PNG."""
    import cv2
    folder = tmp_path / "dark"
    folder.mkdir()
    for i, path in enumerate(sorted((shared / "data" / "dark_real" / "DICM").glob("*.jpg"))[:4]):
        rgb = read_image(path)[100:196, 100:228]
        small = cv2.resize(rgb, (64, 48), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{i}.png"), small[:, :, ::-1])
    return folder


def _config(dark, out, **changes) -> ZeroDCETrainConfig:
    settings = dict(dark=str(dark), out=str(out), steps=4, batch_size=2, size=32, save_every=2, log_every=1,
                    device="cpu")
    settings.update(changes)
    return ZeroDCETrainConfig(**settings)


def _slow_spatial_consistency(enhanced, original, pool):
    """L_spa by explicit loops over regions and their 4 neighbours (zero outside the image)."""
    o = torch.nn.functional.avg_pool2d(original.mean(1), pool)
    e = torch.nn.functional.avg_pool2d(enhanced.mean(1), pool)
    padded_o, padded_e = (torch.nn.functional.pad(t, (1, 1, 1, 1)) for t in (o, e))
    total = torch.zeros(())
    for i in range(o.shape[1]):
        for j in range(o.shape[2]):
            for di, dj in ((0, -1), (0, 1), (-1, 0), (1, 0)):
                d_o = o[:, i, j] - padded_o[:, i + 1 + di, j + 1 + dj]
                d_e = e[:, i, j] - padded_e[:, i + 1 + di, j + 1 + dj]
                total = total + ((d_o - d_e) ** 2).sum()
    return total / (o.numel())


def test_losses_against_references():
    original, enhanced = torch.rand(2, 3, 16, 24), torch.rand(2, 3, 16, 24)
    assert torch.allclose(spatial_consistency_loss(enhanced, original, 4),
                          _slow_spatial_consistency(enhanced, original, 4), atol=1e-6)
    assert spatial_consistency_loss(original, original) == 0
    assert exposure_loss(torch.full((1, 3, 32, 32), 0.6)).abs() < 1e-12
    assert torch.isclose(exposure_loss(torch.full((1, 3, 32, 32), 0.1)), torch.tensor(0.25))
    assert illumination_smoothness_loss(torch.ones(2, 24, 8, 8)) == 0
    grey = torch.full((1, 3, 8, 8), 0.3, requires_grad=True)
    color_constancy_loss(grey).backward()
    assert torch.isfinite(grey.grad).all()
    terms = zero_reference_losses(enhanced, original, torch.zeros(2, 24, 16, 24))
    assert set(terms) == {"tv", "spa", "col", "exp"}


def _mean_loss(weights_path, images) -> float:
    net = ZeroDCE(weights=str(weights_path)).net
    with torch.no_grad():
        enhanced, curves = net(images)
        return float(sum(zero_reference_losses(enhanced, images, curves).values()))


def test_a_few_steps_lower_the_loss_via_cli(dark, tmp_path):
    runner = CliRunner()
    common = ["train-enhancer", "zerodce", "--dark", str(dark), "--batch-size", "2", "--size", "32",
              "--lr", "1e-3", "--device", "cpu", "--log-every", "1"]
    start = runner.invoke(main, common + ["--out", str(tmp_path / "start"), "--steps", "0"])
    trained = runner.invoke(main, common + ["--out", str(tmp_path / "run"), "--steps", "15"])
    assert start.exit_code == 0 and trained.exit_code == 0, start.output + trained.output
    images = load_batch(sorted(dark.glob("*.png")), [0, 1, 2, 3], 32)
    before = _mean_loss(tmp_path / "start" / "zerodce.pt", images)
    after = _mean_loss(tmp_path / "run" / "zerodce.pt", images)
    assert after < 0.8 * before
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 16))
    assert ZeroDCE(weights=str(tmp_path / "run" / "zerodce.pt")).weights.source == "facebench checkpoint"


def test_resume_is_exact(dark, tmp_path):
    straight = torch.load(train(_config(dark, tmp_path / "a")), weights_only=True)
    train(_config(dark, tmp_path / "b", steps=2))
    resumed = torch.load(train(_config(dark, tmp_path / "b"), resume=True), weights_only=True)
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    log_a = (tmp_path / "a" / "log.csv").read_text()
    assert log_a == (tmp_path / "b" / "log.csv").read_text()
    with pytest.raises(Exception, match="different lr"):
        train(_config(dark, tmp_path / "b", steps=6, lr=5e-4), resume=True)


def test_nan_loss_stops_training_and_keeps_checkpoint(dark, tmp_path, monkeypatch):
    real = zerodce_train.zero_reference_losses
    calls = []

    def nan_at_third_step(enhanced, original, curves, weights):
        calls.append(1)
        terms = real(enhanced, original, curves, weights)
        return {**terms, "exp": terms["exp"] * float("nan")} if len(calls) == 3 else terms

    monkeypatch.setattr(zerodce_train, "zero_reference_losses", nan_at_third_step)
    with pytest.raises(NonFiniteLossError, match=r"'exp'.*last.pt"):
        train(_config(dark, tmp_path / "run"))
    assert (tmp_path / "run" / "last.pt").is_file() and not (tmp_path / "run" / "zerodce.pt").exists()


def test_bad_inputs_give_clear_errors(tmp_path, dark):
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="no images"):
        train(_config(tmp_path / "empty", tmp_path / "run"))
    with pytest.raises(Exception, match="fewer than --batch-size 8"):
        train(_config(dark, tmp_path / "run", batch_size=8))
    with pytest.raises(Exception, match="nothing to resume"):
        train(_config(dark, tmp_path / "fresh"), resume=True)

