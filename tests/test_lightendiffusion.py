"""LightenDiffusion: the spec's conformance check, the authors' checkpoint layout, the plugin contract."""
import argparse
import importlib.util
import json
from pathlib import Path
from dataclasses import asdict

import pytest
import torch

from facebench.checkpoint import save_checkpoint
from facebench.datasets.images import read_image
from facebench.image_quality import psnr
from facebench.enhancers.lightendiffusion import LightenDiffusion, conformance_model
from facebench.enhancers.lightendiffusion.architecture import FULL, SMALL
from facebench.enhancers.lightendiffusion.diffusion import alpha_bar, betas, ddim_sample, ddim_schedule
from facebench.enhancers.lightendiffusion import enhancer as enhancer_module
from facebench.enhancers.lightendiffusion.enhancer import pad_to_multiple
from facebench.enhancers.lightendiffusion.model import LightenDiffusionNet, sampling_size
from facebench.enhancers.lightendiffusion.weights import AUTHORS_FILE, AUTHORS_SOURCE, FACEBENCH_SOURCE, SHIPPED_WEIGHTS
from facebench.plugins import ENHANCERS
from facebench.weights import MissingWeightsError

pytestmark = pytest.mark.usefixtures("one_thread")

FACTORY = "facebench.enhancers.lightendiffusion:conformance_model"


def _spec_module(shared):
    """The spec's conformance.py (not a package: loaded from its file)."""
    path = shared / "specs" / "lightendiffusion" / "conformance.py"
    spec = importlib.util.spec_from_file_location("lightendiffusion_conformance", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _small_weights(path, seed=0):
    """A stage-2 facebench checkpoint of the SMALL network at PyTorch's default init (seeded)."""
    torch.manual_seed(seed)
    net = LightenDiffusionNet(SMALL)
    save_checkpoint(path, {"model": net.state_dict(),
                           "metadata": {"enhancer": "lightendiffusion", "stage": 2, "architecture": asdict(SMALL)}})
    return path


def test_conformance_against_the_authors_reference(shared):
    """The spec's check, as `python conformance.py check ...:conformance_model` runs it: every output
    within 1e-4 * max(1, max|ref|) of what the authors' code computed (20-step DDIM sample included)."""
    conformance = _spec_module(shared)
    worst = conformance.check(FACTORY, shared / "specs" / "lightendiffusion" / "reference_128x192.pt", verbose=False)
    assert conformance.check.passed
    assert worst < 2e-3  # the DDIM sample (|x| up to 346) dominates; measured 2.7e-4 here


def test_parameter_count_and_keys_match_the_authors_layout(shared):
    rows = _spec_module(shared).read_spec()
    state = conformance_model().state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == [(k, shape) for k, shape, _, _ in rows]
    assert sum(v.numel() for v in state.values()) == 27_832_973


@pytest.fixture(scope="module")
def authors_file(tmp_path_factory):
    """An authors'-format stage-2 file with the spec's deterministic weights: {'state_dict' ('module.' keys),
    'params', 'config' (argparse Namespaces), 'optimizer', 'ema_helper', 'step', 'epoch'} (module scope: the
    file is 111 MB; so ../shared is looked up directly instead of through the function-scoped fixture)."""
    shared = Path(__file__).resolve().parents[1].parent / "shared"
    if not (shared / "specs" / "lightendiffusion").is_dir():
        pytest.skip(f"needs ../shared beside the repository ({shared} not found)")
    state = _spec_module(shared).deterministic_state_dict(0)
    config = argparse.Namespace(model=argparse.Namespace(ch=64, ch_mult=[1, 2, 3, 4]), diffusion=argparse.Namespace(
        num_diffusion_timesteps=1000))
    path = tmp_path_factory.mktemp("authors") / "lightendiffusion" / "stage2_weight.pth.tar"
    path.parent.mkdir()
    torch.save({"state_dict": state, "params": argparse.Namespace(resume="x", sampling_timesteps=20),
                "config": config, "optimizer": {"state": {}, "param_groups": []}, "ema_helper": {},
                "step": 1, "epoch": 0}, path)
    return path


def test_authors_file_loads_strictly_and_reproduces_the_reference(authors_file, shared, monkeypatch):
    monkeypatch.setenv("FACEBENCH_HOME", str(authors_file.parent.parent))  # found as $FACEBENCH_HOME/<file>
    enhancer = LightenDiffusion(variant="authors")
    assert enhancer.weights.source == AUTHORS_SOURCE and enhancer.weights.path == str(authors_file.resolve())
    assert enhancer.net.architecture == FULL
    assert enhancer.config.clip_x0 is False  # the authors' sampler for the authors' weights
    ref = torch.load(shared / "specs" / "lightendiffusion" / "reference_128x192.pt", weights_only=True)
    with torch.no_grad():
        decoded = enhancer.net.decode(ref["input"], ref["decode_fea"])
    assert (decoded - ref["decode_out"]).abs().max() < 1e-4
    assert "authors: found" in LightenDiffusion.weights_status()


def test_incomplete_authors_file_is_refused(authors_file, tmp_path):
    checkpoint = torch.load(authors_file, weights_only=False)
    del checkpoint["state_dict"]["module.Unet.conv_out.bias"]
    broken = tmp_path / "broken.pth.tar"
    torch.save(checkpoint, broken)
    with pytest.raises(ValueError, match=r"broken.pth.tar: weights do not fit.*conv_out.bias"):
        LightenDiffusion(weights=str(broken))


def test_missing_weights_give_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as error:
        LightenDiffusion(variant="authors")
    message = str(error.value)
    assert "\n" not in message and AUTHORS_FILE in message and str(tmp_path) in message
    assert "github.com/JianghaiSCU/LightenDiffusion" in message and "train-enhancer lightendiffusion" in message
    status = LightenDiffusion.weights_status()
    assert "authors: missing: put lightendiffusion/stage2_weight.pth.tar" in status and "\n" not in status
    monkeypatch.setattr(enhancer_module, "SHIPPED_WEIGHTS", tmp_path / "gone.pt")
    with pytest.raises(MissingWeightsError, match=r"shipped CPU weights .*gone.pt are missing from the package"):
        LightenDiffusion()
    with pytest.raises(ValueError, match="variant must be one of cpu, authors, got 'gpu'"):
        LightenDiffusion(variant="gpu")
    with pytest.raises(MissingWeightsError, match="nothere.pt does not exist"):
        LightenDiffusion(weights=str(tmp_path / "nothere.pt"))


def test_registered_with_one_line():
    assert ENHANCERS.factory("lightendiffusion") is LightenDiffusion


@pytest.mark.parametrize("shape", [(2, 3, 37, 53), (1, 3, 1, 7), (3, 3, 5, 1)], ids=["2x37x53", "1x1x7", "3x5x1"])
def test_plugin_keeps_shape_range_dtype(tmp_path, shape):
    enhancer = LightenDiffusion(weights=str(_small_weights(tmp_path / "w.pt")), steps=4)
    x = (torch.rand(shape, generator=torch.Generator().manual_seed(0)) * 0.3 * 255).round() / 255
    out = enhancer(x.clone())
    assert out.shape == x.shape and out.dtype == torch.float32 and out.device == x.device
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_plugin_is_seeded_deterministic_and_per_image(tmp_path):
    weights = str(_small_weights(tmp_path / "w.pt"))
    enhancer = LightenDiffusion(weights=weights, seed=3, steps=4)
    x = torch.rand(3, 3, 40, 70, generator=torch.Generator().manual_seed(1)) * 0.3
    out = enhancer(x)
    assert torch.equal(enhancer(x), out)
    assert torch.equal(enhancer(x[1:2]), out[1:2])  # independent of the batch
    assert torch.equal(LightenDiffusion(weights=weights, seed=3, steps=4)(x), out)  # a fresh instance too
    assert not torch.equal(LightenDiffusion(weights=weights, seed=4, steps=4)(x), out)  # the seed matters
    identity = json.loads(json.dumps(enhancer.identity()))
    assert identity["name"] == "lightendiffusion"
    assert identity["settings"]["seed"] == 3 and identity["settings"]["steps"] == 4
    assert identity["settings"]["architecture"]["unet_channels"] == SMALL.unet_channels
    assert identity["weights"]["source"] == FACEBENCH_SOURCE and len(identity["weights"]["sha256"]) == 64


def test_size_limit_is_clear(tmp_path):
    enhancer = LightenDiffusion(weights=str(_small_weights(tmp_path / "w.pt")), max_megapixels=0.01)
    with pytest.raises(ValueError, match=r"128x128 frame \(padded\) is 0.02 MP, above max_megapixels=0.01"):
        enhancer(torch.zeros(1, 3, 100, 65))


def test_stage1_weights_are_refused_by_the_enhancer(tmp_path):
    path = tmp_path / "stage1.pt"
    save_checkpoint(path, {"model": {}, "metadata": {"enhancer": "lightendiffusion", "stage": 1,
                                                     "architecture": asdict(SMALL)}})
    with pytest.raises(Exception, match="stage-1 weights.*train-enhancer lightendiffusion stage2"):
        LightenDiffusion(weights=str(path))


def test_ddim_schedule_matches_the_authors_timesteps(shared):
    ref = torch.load(shared / "specs" / "lightendiffusion" / "reference_128x192.pt", weights_only=True)
    schedule = ddim_schedule(20)
    assert [t for t, _ in schedule] == ref["sample_traj_t"].long().tolist()
    assert [n for _, n in schedule] == list(range(900, -1, -50)) + [-1]
    beta = betas()
    assert alpha_bar(beta, torch.tensor([-1])).item() == 1.0
    assert torch.isclose(alpha_bar(beta, torch.tensor([0])), 1 - beta[0]).all()
    assert abs(alpha_bar(beta, torch.tensor([950])).item() ** -0.5 - 95) < 5  # x0 gain on the first step


def test_clip_x0_clamps_every_x0_and_leaves_an_in_range_trajectory_alone():
    beta = betas()
    noise = torch.randn(1, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    target = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8

    def oracle_for(x0):  # the exact noise for a given x0 at every step
        def denoiser(x6, t):
            a = alpha_bar(beta, t.long())
            return (x6[:, 3:] - a.sqrt() * x0) / (1 - a).sqrt()
        return denoiser

    for clip in (False, True):  # x0 inside [-1, 1] everywhere: clipping changes nothing
        assert torch.allclose(ddim_sample(oracle_for(target), target, noise, beta, 20, clip_x0=clip), target,
                              atol=1e-4)
    beyond = 5 * target  # a denoiser whose x0 is out of range, as the CPU-trained one's first steps are
    free = ddim_sample(oracle_for(beyond), target, noise, beta, 20)
    clipped = ddim_sample(oracle_for(beyond), target, noise, beta, 20, clip_x0=True)
    assert torch.allclose(free, beyond, atol=1e-3) and free.abs().max() > 3
    assert torch.allclose(clipped, beyond.clamp(-1, 1), atol=1e-4)


def test_clip_x0_is_an_option_in_the_identity_and_on_for_facebench_weights(tmp_path):
    weights = str(_small_weights(tmp_path / "w.pt"))
    plain, clipped = (LightenDiffusion(weights=weights, steps=4, clip_x0=c) for c in (False, True))
    assert plain.identity()["settings"]["clip_x0"] is False and clipped.identity()["settings"]["clip_x0"] is True
    assert LightenDiffusion(weights=weights, steps=4).config.clip_x0 is True
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 0.3
    assert not torch.equal(plain(x), clipped(x))  # an untrained denoiser leaves x0 far outside [-1, 1]
    with pytest.raises(ValueError, match="clip_x0 must be true, false or null, got 'yes'"):
        LightenDiffusion(weights=weights, clip_x0="yes")


def test_sampling_size_caps_the_long_side_in_multiples_of_eight():
    assert sampling_size(96, 136, 32) == (24, 32)       # a 1080 x 720 frame pads to 768 x 1088
    assert sampling_size(64, 64, 32) == (32, 32) and sampling_size(16, 16, 32) == (16, 16)
    assert sampling_size(96, 136, 0) == (96, 136) and sampling_size(8, 200, 16) == (8, 16)


def test_sample_side_runs_the_denoiser_on_the_smaller_latent_and_decodes_full_size(tmp_path):
    weights = str(_small_weights(tmp_path / "w.pt"))
    full, reduced = (LightenDiffusion(weights=weights, steps=3, sample_side=side) for side in (0, 16))
    seen = []
    reduced.net.Unet.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    x = torch.rand(1, 3, 250, 180, generator=torch.Generator().manual_seed(3)) * 0.3   # pads to 256 x 192
    out = reduced(x)
    assert out.shape == x.shape and set(seen) == {(16, 16)}   # latent 32 x 24 -> 16 x 12, rounded to 16 x 16
    assert not torch.equal(out, full(x))
    assert reduced.identity()["settings"]["sample_side"] == 16 and full.identity()["settings"]["sample_side"] == 0
    for bad in (-8, 12, True, "32"):
        with pytest.raises(ValueError, match="sample_side must be 0 or a positive multiple of 8"):
            LightenDiffusion(weights=weights, sample_side=bad)


def test_padding_reflects_like_the_authors_and_replicates_tiny_images():
    x = torch.rand(1, 3, 70, 100)
    padded = pad_to_multiple(x, 64)
    assert padded.shape == (1, 3, 128, 128)
    assert torch.equal(padded, torch.nn.functional.pad(x, (0, 28, 0, 58), mode="reflect"))
    tiny = pad_to_multiple(torch.rand(1, 3, 1, 7), 64)
    assert tiny.shape == (1, 3, 64, 64) and torch.equal(tiny[:, :, 63, 63], tiny[:, :, 0, 6])


def test_shipped_cpu_weights_are_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))  # no user files: the default needs none
    enhancer = LightenDiffusion()
    assert enhancer.weights.path == str(SHIPPED_WEIGHTS.resolve()) and "shipped" in enhancer.weights.source
    assert SHIPPED_WEIGHTS.stat().st_size < 20e6 and enhancer.net.architecture == SMALL
    assert enhancer.training_metadata["step"] == 20000 and enhancer.config.clip_x0 is True
    assert LightenDiffusion.weights_status().startswith("cpu: shipped")


def test_shipped_weights_brighten_real_pairs_towards_their_references(shared):
    """SICE pairs 111, 118, 125 (development data of the card, never in this model's training data), 512 x 512,
    mean PSNR: the shipped model with its default sampler lifts it above the dark input (measured 8.30 ->
    9.35 dB); with the authors' sampler (clip_x0=false) the latent saturates and nothing is gained (8.30)."""
    pair = shared / "data" / "paired" / "sice_part1"
    shipped, unclipped = LightenDiffusion(), LightenDiffusion(clip_x0=False)
    scores = []
    for name in ("111.jpg", "118.jpg", "125.jpg"):
        low, high = (read_image(pair / side / name) for side in ("low", "high"))  # 512 x 512
        x = torch.from_numpy(low).permute(2, 0, 1)[None].float() / 255
        outputs = (e(x)[0].permute(1, 2, 0).mul(255).round().byte().numpy() for e in (shipped, unclipped))
        scores.append([psnr(low, high), *(psnr(out, high) for out in outputs)])
    base, clipped, authors_sampler = torch.tensor(scores).mean(0).tolist()
    assert clipped > base + 0.7 and clipped > authors_sampler + 0.7, (base, clipped, authors_sampler)
