"""LightenDiffusion training: one step of each stage changes the right weights, exact resume, NaN guard, CLI."""
import csv
from dataclasses import asdict

import cv2
import pytest
import torch
from click.testing import CliRunner

from facebench.cli import main
from facebench.datasets.images import read_image
from facebench.enhancers.lightendiffusion import LightenDiffusion, losses as ld_losses, train as ld_train
from facebench.enhancers.lightendiffusion.architecture import FULL, SMALL
from facebench.enhancers.lightendiffusion.ctdn import CTDN
from facebench.enhancers.lightendiffusion.data import exposure_variant, load_crops, stream_indices
from facebench.enhancers.lightendiffusion.losses import (antithetic_timesteps, smoothness, stage1_losses,
                                                         stage2_losses)
from facebench.enhancers.lightendiffusion.model import LightenDiffusionNet
from facebench.enhancers.lightendiffusion.config import (Stage1Config, Stage2Config, architecture_of,
                                                         with_preset)
from facebench.enhancers.lightendiffusion.train import train_stage1, train_stage2
from facebench.training import NonFiniteLossError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def photos(shared, tmp_path):
    """(dark folder, normal folder): three small (72 x 96) downscaled real photos each, as PNG."""
    folders = []
    for kind, source in (("dark", "dark_real/DICM"), ("normal", "normal_light/Kodak24")):
        folder = tmp_path / kind
        folder.mkdir()
        for i, path in enumerate(sorted((shared / "data" / source).glob("*"))[:3]):
            small = cv2.resize(read_image(path), (96, 72), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / f"{i}.png"), small[:, :, ::-1])
        folders.append(folder)
    return folders


def _stage1(photos, out, **changes) -> Stage1Config:
    settings = dict(dark=(str(photos[0]),), normal=(str(photos[1]),), out=str(out), steps=1, batch_size=1, size=64,
                    save_every=1, log_every=1, device="cpu")
    return Stage1Config(**{**settings, **changes})


def _stage2(photos, out, stage1, **changes) -> Stage2Config:
    settings = dict(dark=(str(photos[0]),), normal=(str(photos[1]),), out=str(out), stage1=str(stage1), steps=1,
                    batch_size=1, size=64, sampling_steps=2, save_every=1, log_every=1, device="cpu")
    return Stage2Config(**{**settings, **changes})


def _fresh_ctdn(seed=0) -> CTDN:
    torch.manual_seed(seed)
    return CTDN(SMALL.recon_channels, SMALL.retinex_channels, SMALL.heads)


def _changed(before: dict, after: dict) -> float:
    """Fraction of tensors that differ."""
    return sum(not torch.equal(before[k], after[k]) for k in before) / len(before)


@pytest.fixture
def stage1_weights(photos, tmp_path):
    return train_stage1(_stage1(photos, tmp_path / "s1"))


def test_one_stage1_step_changes_the_ctdn(stage1_weights, tmp_path):
    saved = torch.load(stage1_weights, weights_only=True)
    assert saved["metadata"]["stage"] == 1 and saved["metadata"]["architecture"] == asdict(SMALL)
    assert saved["metadata"]["data"]["dark_images"] == 3 and saved["metadata"]["data"]["normal_images"] == 3
    before = _fresh_ctdn().state_dict()  # the run's initial weights (same seed)
    assert _changed(before, saved["model"]) > 0.95
    assert all(torch.isfinite(v).all() for v in saved["model"].values())
    row = next(csv.DictReader(open(tmp_path / "s1" / "log.csv")))
    terms = ("recon", "retinex", "reflectance", "illumination", "smooth")
    assert all(float(row[k]) > 0 for k in terms)
    assert abs(float(row["loss"]) - sum(float(row[k]) for k in terms)) < 1e-4 * float(row["loss"])


def test_one_stage2_step_changes_only_the_denoiser(photos, stage1_weights, tmp_path):
    final = train_stage2(_stage2(photos, tmp_path / "s2", stage1_weights))
    saved = torch.load(final, weights_only=True)
    stage1 = torch.load(stage1_weights, weights_only=True)["model"]
    decom = {k[len("decom."):]: v for k, v in saved["model"].items() if k.startswith("decom.")}
    assert decom.keys() == stage1.keys() and _changed(stage1, decom) == 0  # frozen
    torch.manual_seed(0)
    fresh = LightenDiffusionNet(SMALL).Unet.state_dict()
    unet = {k[len("Unet."):]: v for k, v in saved["model"].items() if k.startswith("Unet.")}
    assert _changed(fresh, unet) > 0.95
    row = next(csv.DictReader(open(tmp_path / "s2" / "log.csv")))
    assert 0.3 < float(row["noise"]) < 3 and 0 < float(row["scc"]) < 0.001  # MSE of N(0,1) noise; 0.001 * L1
    enhancer = LightenDiffusion(weights=str(final), steps=2)  # the output is the enhancer's weights file
    out = enhancer(torch.rand(1, 3, 20, 30))
    assert out.shape == (1, 3, 20, 30) and enhancer.weights.source == "facebench checkpoint"


def test_init_starts_the_denoiser_from_a_stage2_file_at_a_new_size(photos, stage1_weights, tmp_path):
    first = torch.load(train_stage2(_stage2(photos, tmp_path / "a", stage1_weights)), weights_only=True)["model"]
    tuned = train_stage2(_stage2(photos, tmp_path / "b", stage1_weights, init=str(tmp_path / "a" / "lightendiffusion.pt"),
                                 size=128, lr=0.0))                      # lr 0: the step leaves the init as it was
    second = torch.load(tuned, weights_only=True)["model"]
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = train_stage1(_stage1(photos, tmp_path / "s1b", seed=1))
    with pytest.raises(ValueError, match="trained on other stage-1 weights"):
        train_stage2(_stage2(photos, tmp_path / "c", other, init=str(tmp_path / "a" / "lightendiffusion.pt")))


def test_stage2_gradients_reach_only_the_denoiser():
    torch.manual_seed(0)
    net = LightenDiffusionNet(SMALL)
    net.decom.requires_grad_(False)
    low, high = torch.rand(2, 3, 64, 64) * 0.2, torch.rand(2, 3, 64, 64)
    losses = stage2_losses(net, low, high, torch.Generator().manual_seed(0), sampling_steps=2)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in net.decom.parameters())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.Unet.parameters())


def test_scc_every_computes_the_consistency_term_on_every_nth_step_weighted_n_times(photos, stage1_weights,
                                                                                     tmp_path, monkeypatch):
    calls = []
    sample = ld_losses.ddim_sample
    monkeypatch.setattr(ld_losses, "ddim_sample", lambda *args: calls.append(1) or sample(*args))
    train_stage2(_stage2(photos, tmp_path / "s2", stage1_weights, steps=6, scc_every=3))
    assert len(calls) == 2  # steps 3 and 6 of 6
    rows = list(csv.DictReader(open(tmp_path / "s2" / "log.csv")))
    scc = [float(r["scc"]) for r in rows]
    assert [s > 0 for s in scc] == [False, False, True, False, False, True]
    assert 0.001 < scc[2] < 0.003  # 3 x 0.001 x an L1 below 1
    torch.manual_seed(0)
    net = LightenDiffusionNet(SMALL)
    low, high = torch.rand(2, 3, 64, 64) * 0.2, torch.rand(2, 3, 64, 64)
    full = stage2_losses(net, low, high, torch.Generator().manual_seed(0), 2, scc_weight=0.003)
    skipped = stage2_losses(net, low, high, torch.Generator().manual_seed(0), 2, scc_weight=0.0)
    assert torch.equal(full["noise"], skipped["noise"])
    assert skipped["scc"].item() == 0 < full["scc"].detach().item()


def test_resume_may_change_scc_every_and_treats_options_newer_than_the_checkpoint_as_defaults(
        photos, stage1_weights, tmp_path):
    out = tmp_path / "s2"
    train_stage2(_stage2(photos, out, stage1_weights, steps=1))
    last = out / "last.pt"
    state = torch.load(last, weights_only=True)
    del state["metadata"]["config"]["scc_every"]  # a checkpoint written before the option existed
    torch.save(state, last)
    train_stage2(_stage2(photos, out, stage1_weights, steps=2, scc_every=2), resume=True)
    with pytest.raises(ValueError, match="different scc_weight"):
        train_stage2(_stage2(photos, out, stage1_weights, steps=3, scc_weight=0.01), resume=True)
    with pytest.raises(ValueError, match="--scc-every must be >= 1"):
        train_stage2(_stage2(photos, tmp_path / "s3", stage1_weights, scc_every=0))


def test_only_recon_trains_the_stage1_encoder():
    """The Retinex terms train the decomposition, not the encoder: with their gradients a constant latent
    satisfied them and the latent collapsed (losses.py)."""
    ctdn = _fresh_ctdn()
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    losses = stage1_losses(ctdn, images, exposure_variant(images, torch.Generator().manual_seed(1)))
    sum(v for k, v in losses.items() if k != "recon").backward()
    assert all(p.grad is None for p in ctdn.ReconNet.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in ctdn.retinex.parameters())
    ctdn.zero_grad(set_to_none=True)
    losses["recon"].backward()
    assert all(p.grad is not None for p in ctdn.ReconNet.pyramid.parameters())


@pytest.mark.parametrize("stage", [1, 2])
def test_resume_is_exact(photos, stage1_weights, tmp_path, stage):
    def config(out, **changes):
        if stage == 1:
            return _stage1(photos, out, **changes)
        return _stage2(photos, out, stage1_weights, **changes)

    run = train_stage1 if stage == 1 else train_stage2
    straight = torch.load(run(config(tmp_path / "a", steps=3)), weights_only=True)
    run(config(tmp_path / "b", steps=2))
    resumed = torch.load(run(config(tmp_path / "b", steps=3), resume=True), weights_only=True)
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    assert (tmp_path / "a" / "log.csv").read_text() == (tmp_path / "b" / "log.csv").read_text()
    with pytest.raises(ValueError, match="different lr"):
        run(config(tmp_path / "b", steps=4, lr=5e-4), resume=True)


def test_nan_loss_stops_and_keeps_the_last_checkpoint(photos, tmp_path, monkeypatch):
    real, calls = ld_train.stage1_losses, []

    def nan_at_second_step(*args):
        calls.append(1)
        terms = real(*args)
        return {**terms, "smooth": terms["smooth"] * float("nan")} if len(calls) == 2 else terms

    monkeypatch.setattr(ld_train, "stage1_losses", nan_at_second_step)
    with pytest.raises(NonFiniteLossError, match=r"'smooth'.*last.pt"):
        train_stage1(_stage1(photos, tmp_path / "run", steps=3))
    assert (tmp_path / "run" / "last.pt").is_file() and not (tmp_path / "run" / "stage1.pt").exists()


def test_cli_runs_stage1_and_reports_bad_options(photos, tmp_path):
    common = ["train-enhancer", "lightendiffusion", "stage1", "--dark", str(photos[0]), "--normal", str(photos[1]),
              "--steps", "1", "--batch-size", "1", "--device", "cpu"]
    result = CliRunner().invoke(main, common + ["--out", str(tmp_path / "run"), "--size", "64"])
    assert result.exit_code == 0, result.output
    assert "stage1.pt" in result.output and (tmp_path / "run" / "stage1.pt").is_file()
    bad = CliRunner().invoke(main, common + ["--out", str(tmp_path / "bad"), "--size", "60"])
    assert bad.exit_code == 2 and "--size 60: must be a multiple of 8" in bad.output
    help_text = CliRunner().invoke(main, ["train-enhancer", "lightendiffusion", "--help"]).output
    assert "stage1" in help_text and "stage2" in help_text and "--full" in help_text


def test_stage2_refuses_stage1_weights_of_another_size(photos, stage1_weights, tmp_path):
    with pytest.raises(Exception, match="trained with architecture"):
        train_stage2(_stage2(photos, tmp_path / "s2", stage1_weights, full=True, size=64))


def test_full_flag_selects_the_authors_network_and_recipe():
    config = with_preset(Stage2Config, 2, True, dark=("d",), normal=("n",), out="o", stage1="s", steps=None, lr=None,
                         batch_size=None, size=None)
    assert architecture_of(config) == FULL
    assert (config.batch_size, config.size, config.lr, config.sampling_steps, config.scc_weight) == (12, 512, 2e-5,
                                                                                                     20, 0.001)
    small = with_preset(Stage1Config, 1, False, dark=("d",), normal=("n",), out="o", steps=7, lr=None)
    assert architecture_of(small) == SMALL and small.steps == 7 and small.lr == Stage1Config.lr


def test_batches_depend_only_on_seed_and_step(photos):
    indices = [stream_indices(step, 3, 2, seed=0, stream=0) for step in range(4)]
    assert all(len(set(batch)) == 2 and set(batch) <= {0, 1, 2} for batch in indices)
    assert indices == [stream_indices(step, 3, 2, seed=0, stream=0) for step in range(4)]
    assert indices != [stream_indices(step, 3, 2, seed=0, stream=1) for step in range(4)]  # streams differ
    files = sorted(photos[0].glob("*.png"))
    first = load_crops(files, indices[0], 48, torch.Generator().manual_seed(5))
    assert torch.equal(first, load_crops(files, indices[0], 48, torch.Generator().manual_seed(5)))
    assert first.shape == (2, 3, 48, 48) and 0 <= first.min() and first.max() <= 1
    darker = exposure_variant(first, torch.Generator().manual_seed(0))
    assert (darker <= 0.6 * first + 1e-6).all() and darker.mean() > 0.1 * first.mean() ** 1.5


def test_loss_pieces():
    t = antithetic_timesteps(5, 1000, torch.Generator().manual_seed(0))
    assert t.shape == (5,) and t[0] + t[3] == 999 and t[1] + t[4] == 999 and ((0 <= t) & (t < 1000)).all()
    reflectance = torch.rand(2, 3, 8, 8)
    assert smoothness(torch.full((2, 3, 8, 8), 0.4), reflectance) == 0
    ramp = torch.linspace(0, 1, 8).expand(2, 1, 8, 8)
    flat_r = torch.full((2, 3, 8, 8), 0.5)
    assert torch.isclose(smoothness(ramp, flat_r), torch.tensor(7 / 8 * 1 / 7))  # |dx| = 1/7 on 7 of 8 columns
    assert smoothness(ramp, reflectance) < smoothness(ramp, flat_r)  # edges in R forgive gradients in L
