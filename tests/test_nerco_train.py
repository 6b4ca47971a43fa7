"""NeRCo training: one step updates every network, exact resume, NaN guard, the CLI (--paper, --help, --paired),
and the pieces the losses use (edge maps vs the authors' kernels, image pool, text prior on a stand-in CLIP)."""
import csv
import json
import random
from dataclasses import asdict

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from facebench.cli import main
from facebench.enhancers.nerco import losses, train as train_module
from facebench.enhancers.nerco.data import UnpairedBatches, domain_files, load_resized
from facebench.enhancers.nerco.edges import GRAY_WEIGHTS, edge_map, gradient_magnitude
from facebench.enhancers.nerco.enhancer import NeRCo
from facebench.enhancers.nerco.gan import DISCRIMINATORS, NeRCoGAN
from facebench.enhancers.nerco.model import NeRCoArch
from facebench.enhancers.nerco.nrn import COORD_INPUTS
from facebench.enhancers.nerco.pool import ImagePool
from facebench.enhancers.nerco.text_prior import HIGH, LOW, TextPrior, load_text_prior
from facebench.enhancers.nerco.train import NeRCoTrainConfig, paper_settings, train, train_step
from facebench.training import NonFiniteLossError

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(ngf=16, blocks=1, nrn_hidden=16, ndf=8, load_size=40, crop_size=32, pool_size=2)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """(dark, normal) folders with three small smooth random photos each (dark: values <= 80)."""
    root = tmp_path_factory.mktemp("nerco_photos")
    rng = np.random.default_rng(0)
    for domain, scale in (("dark", 80), ("normal", 255)):
        (root / domain).mkdir()
        for i in range(3):
            image = cv2.resize(rng.random((6, 8, 3)), (64, 48), interpolation=cv2.INTER_CUBIC).clip(0, 1) * scale
            cv2.imwrite(str(root / domain / f"{i}.png"), image.astype(np.uint8))
    return root / "dark", root / "normal"


def _config(photos, out, **changes) -> NeRCoTrainConfig:
    settings = dict(dark=str(photos[0]), normal=str(photos[1]), out=str(out), steps=4, decay_start=2,
                    save_every=2, log_every=1, device="cpu", **TINY)
    settings.update(changes)
    return NeRCoTrainConfig(**settings)


def test_one_step_updates_every_network(photos):
    torch.manual_seed(0)
    random.seed(0)
    gan = NeRCoGAN(NeRCoArch(ngf=16, blocks=1, nrn_hidden=16), ndf=8).train()
    before = {k: v.clone() for k, v in gan.state_dict().items()}
    optimizers = {"G": torch.optim.Adam(gan.generator_parameters(), lr=2e-4, betas=(0.5, 0.999)),
                  "D": torch.optim.Adam([p for d in gan.discriminators() for p in d.parameters()], lr=2e-4)}
    pools = {name: ImagePool(2) for name in losses.POOLS}
    batches = UnpairedBatches(load_resized(sorted(photos[0].glob("*.png")), 40),
                              load_resized(sorted(photos[1].glob("*.png")), 40), 32, 1, seed=0)
    terms = train_step(gan, *batches(0), optimizers, pools, None, 0, None)
    assert set(terms) == {"G_A", "G_B", "G_A_edge", "G_B_edge", "cycle_A", "cycle_B", "idt_A", "idt_B",
                          "pre_consis", "H", "D_A", "D_B", "D_A_edge", "D_B_edge"}
    assert all(torch.isfinite(v) and v > 0 for v in terms.values())
    after = gan.state_dict()
    for prefix in ("net.G_A.", "net.Pre.model.", "net.Pre.mlp.", "net.H.", "G_B.", *(d + "." for d in DISCRIMINATORS)):
        assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith(prefix)), prefix
    first = "net.Pre.mlp.imnet.layers.0.weight"  # the NRN's coordinate inputs are 0: those columns never move
    columns = slice(9 * 16, 9 * 16 + COORD_INPUTS)
    assert torch.equal(before[first][:, columns], after[first][:, columns])
    assert all(len(pool.images) == 1 for pool in pools.values())


def test_resume_is_exact_and_weights_load_as_enhancer(photos, tmp_path):
    straight = torch.load(train(_config(photos, tmp_path / "a")), weights_only=True)
    train(_config(photos, tmp_path / "b", steps=2))
    resumed = torch.load(train(_config(photos, tmp_path / "b"), resume=True), weights_only=True)
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    assert (tmp_path / "a" / "log.csv").read_text() == (tmp_path / "b" / "log.csv").read_text()
    rows = list(csv.DictReader(open(tmp_path / "a" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4] and float(rows[-1]["lr"]) == 0.0  # decayed to 0
    assert straight["metadata"]["text_prior"].startswith("none")
    enhancer = NeRCo(weights=str(tmp_path / "a" / "nerco.pt"))
    assert enhancer.weights.source == "facebench checkpoint" and enhancer.config.nrn_hidden == 16
    with pytest.raises(ValueError, match="different lr"):
        train(_config(photos, tmp_path / "b", steps=6, lr=1e-3), resume=True)


def test_nan_loss_stops_training_and_keeps_checkpoint(photos, tmp_path, monkeypatch):
    real, calls = train_module.generator_losses, []

    def nan_at_third_step(*args):
        calls.append(1)
        terms = real(*args)
        return {**terms, "cycle_A": terms["cycle_A"] * float("nan")} if len(calls) == 3 else terms

    monkeypatch.setattr(train_module, "generator_losses", nan_at_third_step)
    with pytest.raises(NonFiniteLossError, match=r"'cycle_A'.*last.pt"):
        train(_config(photos, tmp_path / "run"))
    assert (tmp_path / "run" / "last.pt").is_file() and not (tmp_path / "run" / "nerco.pt").exists()


def test_cli_paper_preset_keeps_explicit_settings_and_help_names_clip(photos, tmp_path):
    runner = CliRunner()
    tiny = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    result = runner.invoke(main, ["train-enhancer", "nerco", "--dark", str(photos[0]), "--normal", str(photos[1]),
                                  "--out", str(tmp_path / "run"), "--paper", "--steps", "0", "--device", "cpu", *tiny])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["decay_start"] == paper_settings(3, 3)["decay_start"] == 300  # 100 epochs of 3 images
    assert config["steps"] == 0 and config["ngf"] == 16 and config["clip"] == ""
    assert paper_settings(98, 219)["steps"] == 300 * 219 and paper_settings(1, 1)["crop_size"] == 512
    help_text = runner.invoke(main, ["train-enhancer", "nerco", "--help"]).output
    assert "--clip" in help_text and "LEFT OUT" in help_text and "--paper" in help_text
    bad = runner.invoke(main, ["train-enhancer", "nerco", "--dark", str(photos[0]), "--normal", str(photos[1]),
                               "--out", str(tmp_path / "x"), "--crop-size", "30"])
    assert bad.exit_code == 2 and "multiple of 4" in bad.output


def test_paired_folder_feeds_both_domains_except_held_out_pairs(photos, tmp_path):
    paired = tmp_path / "paired"
    for side in ("low", "high"):
        (paired / side).mkdir(parents=True)
    for i in range(3):
        image = cv2.imread(str(photos[1] / f"{i}.png"))
        cv2.imwrite(str(paired / "high" / f"p{i}.png"), image)
        cv2.imwrite(str(paired / "low" / f"p{i}.png"), image // 6)
    dark_files = sorted(photos[0].glob("*.png"))
    a, b = domain_files(str(photos[0]), "", str(paired), holdout=1)
    assert a == dark_files + [paired / "low" / "p0.png", paired / "low" / "p1.png"]
    assert b == [paired / "high" / "p0.png", paired / "high" / "p1.png"]  # p2 held out
    with pytest.raises(ValueError, match="needs low-light photos"):
        domain_files("", str(photos[1]), "", holdout=0)
    with pytest.raises(ValueError, match="all held out"):
        domain_files("", "", str(paired), holdout=3)

    tiny = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    result = CliRunner().invoke(main, ["train-enhancer", "nerco", "--paired", str(paired), "--holdout", "1",
                                       "--out", str(tmp_path / "run"), "--steps", "1", "--device", "cpu", *tiny])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["paired"], config["holdout"], config["dark"], config["normal"]) == (str(paired), 1, "", "")
    metadata = torch.load(tmp_path / "run" / "nerco.pt", weights_only=True)["metadata"]
    assert metadata["images"] == {"dark": 2, "normal": 2}

    # A run saved before --paired existed has no paired / holdout keys: it resumes under the defaults only.
    current = _config(photos, tmp_path / "old")
    saved = {k: v for k, v in asdict(current).items() if k not in ("paired", "holdout")}
    train_module._check_resumable(saved, current, tmp_path / "old" / "last.pt")
    with pytest.raises(ValueError, match=r"different holdout \(holdout=25\)"):
        train_module._check_resumable(saved, _config(photos, tmp_path / "old", holdout=3), tmp_path / "old" / "last.pt")


def test_edge_map_matches_the_authors_kernels():
    x = torch.rand(2, 3, 9, 11) * 2 - 1
    gray = (x * torch.tensor(GRAY_WEIGHTS).view(1, 3, 1, 1)).sum(1, keepdim=True)
    kernel_v = torch.tensor([[0., -1, 0], [0, 0, 0], [0, 1, 0]]).view(1, 1, 3, 3)
    kernel_h = torch.tensor([[0., 0, 0], [-1, 0, 1], [0, 0, 0]]).view(1, 1, 3, 3)
    reference = torch.sqrt(F.conv2d(gray, kernel_v, padding=1) ** 2 + F.conv2d(gray, kernel_h, padding=1) ** 2 + 1e-6)
    assert torch.allclose(gradient_magnitude(x), reference, atol=1e-6)
    torch.manual_seed(3)
    first = edge_map(x)
    torch.manual_seed(3)
    assert torch.equal(edge_map(x), first) and first.shape == (2, 3, 9, 11)
    assert not torch.equal(edge_map(x), first)  # a fresh random 1x1 conv per call


def test_image_pool_fills_then_mixes_and_round_trips():
    random.seed(0)
    pool = ImagePool(2)
    images = [torch.full((1, 3, 2, 2), float(i), requires_grad=True) for i in range(8)]
    returned = [pool.query(image) for image in images]
    assert torch.equal(returned[0], images[0].detach()) and not returned[0].requires_grad
    assert any(not torch.equal(r, i.detach()) for r, i in zip(returned[2:], images[2:]))  # history returned
    copy = ImagePool(2)
    copy.load_state_dict(pool.state_dict())
    state = random.getstate()
    a = pool.query(images[0])
    random.setstate(state)
    assert torch.equal(copy.query(images[0]), a)


class _StandInCLIP(torch.nn.Module):
    """A tiny CLIP-shaped model: encode_image = mean colour through a linear map; logit_scale = log(100)."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 4)
        self.logit_scale = torch.nn.Parameter(torch.tensor(100.0).log())

    def encode_image(self, images):
        assert images.shape[-2:] == (224, 224)
        return self.proj(images.mean(dim=(2, 3)))


def test_text_prior_loss_and_gradients(tmp_path, monkeypatch):
    torch.manual_seed(0)
    prior = TextPrior(_StandInCLIP(), torch.randn(2, 4))
    images = (torch.rand(3, 3, 32, 32) * 2 - 1).requires_grad_(True)
    probs = prior.probabilities(images)
    assert probs.shape == (3, 2) and torch.allclose(probs.sum(1), torch.ones(3))
    loss = prior.loss(images, HIGH)
    assert torch.isclose(loss, probs[:, LOW].mean())  # mean(|p_low - 0|, |p_high - 1|) = mean p_low
    assert torch.isclose(prior.loss(images, LOW), probs[:, HIGH].mean())
    loss.backward()
    assert images.grad.abs().sum() > 0 and prior.clip_model.proj.weight.grad is None  # CLIP stays frozen
    gan = NeRCoGAN(NeRCoArch(ngf=16, blocks=1, nrn_hidden=16), ndf=8)
    a, b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    terms = losses.generator_losses(gan, gan(a, b), a, b, losses.LossWeights(), prior)
    assert {"text_A", "text_B"} <= set(terms)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_text_prior(tmp_path / "RN50.pt")
    (tmp_path / "RN50.pt").write_bytes(b"x")
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None)
    with pytest.raises(ImportError, match="open_clip_torch"):
        load_text_prior(tmp_path / "RN50.pt")


def test_init_from_authors_folder_and_architecture_check(photos, tmp_path):
    """--init loads an authors'-layout folder into the test-time networks; steps 0 writes them back unchanged."""
    torch.manual_seed(5)
    source = NeRCoGAN(NeRCoArch(ngf=16, blocks=1, nrn_hidden=16), ndf=8).net.state_dict()
    folder = tmp_path / "authors"
    folder.mkdir()
    for prefix, name in (("G_A", "latest_net_G_A.pth"), ("Pre", "latest_net_Pre.pth"), ("H", "latest_net_H.pth")):
        torch.save({k[len(prefix) + 1:]: v for k, v in source.items() if k.startswith(prefix + ".")}, folder / name)
    final = torch.load(train(_config(photos, tmp_path / "run", steps=0, init=str(folder))), weights_only=True)
    assert all(torch.equal(final["model"][k], v) for k, v in source.items())
    with pytest.raises(ValueError, match="architecture"):
        train(_config(photos, tmp_path / "other", steps=0, init=str(folder), blocks=2))


def test_init_from_a_runs_last_pt_sets_every_network_and_restarts_the_schedule(photos, tmp_path):
    """--init OUT/last.pt: G_B and the discriminators come back too (not only the test-time nets); the new
    run starts at step 0 with its own learning rate; another width is a one-line error."""
    train(_config(photos, tmp_path / "first", steps=2, decay_start=0))  # lr decays to 0 by its last step
    saved = torch.load(tmp_path / "first" / "last.pt", weights_only=False)["modules"]["gan"]
    gan = NeRCoGAN(NeRCoArch(ngf=16, blocks=1, nrn_hidden=16), ndf=8)
    train_module._init_from(gan, str(tmp_path / "first" / "last.pt"), _config(photos, tmp_path / "second"))
    assert all(torch.equal(v, saved[k]) for k, v in gan.state_dict().items())
    assert any(k.startswith("D_") for k in saved) and any(k.startswith("G_B.") for k in saved)
    train(_config(photos, tmp_path / "second", steps=2, init=str(tmp_path / "first" / "last.pt")))
    with open(tmp_path / "second" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2] and float(rows[0]["lr"]) == pytest.approx(2e-4)
    with pytest.raises(ValueError, match=r"--init .*last.pt: expected a NeRCo training state with .*'ndf': 16"):
        train(_config(photos, tmp_path / "third", steps=0, init=str(tmp_path / "first" / "last.pt"), ndf=16))


def test_torchrun_with_several_processes_is_one_clear_error(photos, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match=r"nerco: training under torchrun is not supported \(WORLD_SIZE=2\)"):
        train(_config(photos, tmp_path / "run"))
    assert not (tmp_path / "run").exists()  # nothing written
