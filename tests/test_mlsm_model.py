"""MLSM model: shapes per level on odd sizes, the zero deblocking input at the top level, ablation
variants, padding/tiling keep H x W, the plugin, and the missing-VGG message."""
from __future__ import annotations

import pytest
import torch

from facebench.checkpoint import save_checkpoint
from facebench.mlsm.config import ModelConfig
from facebench.mlsm.inference import enhance_padded, enhance_tiled, pad_to
from facebench.mlsm.losses import MissingVGGError, build_perceptual
from facebench.mlsm.model import MLSM

TINY = dict(width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models run faster on one thread


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_latent_shapes_per_level_odd_size(levels):
    torch.manual_seed(0)
    cfg = ModelConfig(levels=levels, **TINY)
    model = MLSM(cfg).eval()
    image = pad_to(torch.rand(1, 3, 37, 53), cfg.multiple)
    assert image.shape[-2] % cfg.multiple == 0 and image.shape[-1] % cfg.multiple == 0
    with torch.no_grad():
        latents, codes = model.vae_dark.encode(image, sample=False)
        mapped = model.mapping(codes)
    for i, (mean, logvar, out) in enumerate(zip(latents.means, latents.logvars, mapped)):
        factor = 2 ** (cfg.stem_downsample + i)
        expected = (1, cfg.latent_channels, image.shape[-2] // factor, image.shape[-1] // factor)
        assert mean.shape == logvar.shape == out.shape == expected
    with torch.no_grad():
        assert enhance_padded(model, torch.rand(2, 3, 37, 53)).shape == (2, 3, 37, 53)


def test_deblocking_input_is_zero_at_top_level_only():
    cfg = ModelConfig(levels=3, **TINY)
    model = MLSM(cfg).eval()
    seen = {}
    for i, level in enumerate(model.mapping.levels):
        level.deblock.register_forward_pre_hook(lambda mod, args, i=i: seen.__setitem__(i, args[0].clone()))
    with torch.no_grad():
        model(torch.rand(1, 3, 64, 64))
    assert torch.equal(seen[2], torch.zeros_like(seen[2]))
    assert seen[0].abs().max() > 0 and seen[1].abs().max() > 0


@pytest.mark.parametrize("cfg", [ModelConfig(levels=1, **TINY), ModelConfig(levels=2, **TINY),
                                 ModelConfig(levels=3, **TINY), ModelConfig(no_mapping=True, **TINY)],
                         ids=["k1", "k2", "k3", "no-mapping"])
def test_variants_build_and_run(cfg):
    model = MLSM(cfg).eval()
    assert hasattr(model, "mapping") != cfg.no_mapping
    with torch.no_grad():
        out = enhance_padded(model, torch.rand(1, 3, 21, 30))
    assert out.shape == (1, 3, 21, 30) and 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize("map_levels", [1, 2, 3])
def test_the_decoder_reads_exactly_the_mapped_levels(map_levels):
    """Table VI: with m mapped levels both VAEs decode from the top m codes; a lower code changes nothing."""
    torch.manual_seed(0)
    vae = MLSM(ModelConfig(levels=3, map_levels=map_levels, **TINY)).vae_normal.eval()
    _, codes = vae.encode(torch.rand(1, 3, 32, 32), sample=False)
    with torch.no_grad():
        reference = vae.decode(codes, (32, 32))
        for level in range(3):
            changed = [c + 5 if i == level else c for i, c in enumerate(codes)]
            moved = (vae.decode(changed, (32, 32)) - reference).abs().max()
            assert (moved > 1e-3) == (level >= 3 - map_levels), (level, float(moved))


def test_tiling_matches_shape_and_single_pass_inside_tiles():
    torch.manual_seed(0)
    cfg = ModelConfig(levels=2, **TINY)
    model = MLSM(cfg).eval()
    image = torch.rand(1, 3, 150, 97)
    with torch.no_grad():
        tiled = enhance_tiled(model, image, tile=64, overlap=16)
        small = enhance_tiled(model, image[..., :64, :64], tile=64, overlap=16)
    assert tiled.shape == image.shape
    assert torch.equal(small, enhance_padded(model, image[..., :64, :64]))


def test_plugin_keeps_size_and_records_config(tmp_path):
    from facebench.enhancers.mlsm import MLSMEnhancer

    cfg = ModelConfig(levels=2, **TINY)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, {"model": MLSM(cfg).state_dict(), "metadata": {"config": cfg.as_dict()}})
    enhancer = MLSMEnhancer(weights=str(path), tile=64, overlap=16).to("cpu")
    for h, w in [(37, 53), (130, 70)]:
        out = enhancer(torch.rand(1, 3, h, w))
        assert out.shape == (1, 3, h, w)
    identity = enhancer.identity()
    assert identity["settings"]["model"] == cfg.as_dict()
    assert identity["weights"]["source"] == "user file" and len(identity["weights"]["sha256"]) == 64


def test_plugin_rejects_foreign_checkpoint(tmp_path):
    from facebench.enhancers.mlsm import MLSMEnhancer

    path = tmp_path / "other.pt"
    save_checkpoint(path, {"state_dict": {}})
    with pytest.raises(ValueError, match="not an MLSM checkpoint"):
        MLSMEnhancer(weights=str(path))


def test_missing_vgg_gives_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingVGGError) as info:
        build_perceptual("vgg19")
    message = str(info.value)
    assert "\n" not in message and "--vgg-weights" in message and "--perceptual ssim" in message
    assert "vgg19-dcbb9e9d.pth" in message
    with pytest.raises(MissingVGGError, match="file not found"):
        build_perceptual("vgg16", str(tmp_path / "nope.pth"))


def test_shipped_weights_load_and_keep_size():
    from facebench.enhancers.mlsm import DEFAULT_WEIGHTS, MLSMEnhancer

    enhancer = MLSMEnhancer()
    assert enhancer.weights.source == "shipped with facebench" and enhancer.weights.path == str(DEFAULT_WEIGHTS)
    assert enhancer(torch.rand(1, 3, 37, 53) * 0.2).shape == (1, 3, 37, 53)


def test_plugin_runs_channels_last_with_the_numbers_of_the_plain_layout():
    from facebench.enhancers.mlsm import MLSMEnhancer

    enhancer = MLSMEnhancer(tile=128, overlap=32)
    conv = next(p for p in enhancer.net.parameters() if p.dim() == 4 and p.shape[-1] > 1)
    assert not conv.is_contiguous() and conv.is_contiguous(memory_format=torch.channels_last)
    plain = MLSM(enhancer.config).eval()
    plain.load_state_dict(enhancer.net.state_dict())
    images = torch.rand(2, 3, 150, 97, generator=torch.Generator().manual_seed(0)) * 0.2
    out = enhancer(images)
    with torch.no_grad():
        reference = enhance_tiled(plain, images, 128, 32)
    assert out.is_contiguous()
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=0)


def test_box_mean_equals_a_clipped_average_pool():
    from facebench.mlsm.blocks import box_mean

    x = torch.rand(2, 3, 13, 21, dtype=torch.float64)
    for window in (1, 5, 9):
        reference = torch.nn.functional.avg_pool2d(x, window, stride=1, padding=window // 2,
                                                   count_include_pad=False)
        torch.testing.assert_close(box_mean(x, window), reference)


def test_refine_box_blur_equals_scipy_uniform_filter_with_replicated_borders():
    from scipy.ndimage import uniform_filter

    from facebench.mlsm.refine import box_blur

    x = torch.rand(2, 1, 23, 31, dtype=torch.float64)
    for radius in (1, 3, 8):
        reference = uniform_filter(x.numpy(), size=(1, 1, 2 * radius + 1, 2 * radius + 1), mode="nearest")
        torch.testing.assert_close(box_blur(x, radius), torch.from_numpy(reference))


def test_windowed_channel_attention_is_global_on_maps_inside_the_window():
    from facebench.mlsm.blocks import ChannelAttention

    torch.manual_seed(0)
    windowed, whole = ChannelAttention(8, window=16), ChannelAttention(8)
    whole.load_state_dict(windowed.state_dict())
    small, large = torch.rand(1, 8, 16, 12), torch.rand(1, 8, 40, 40)
    assert torch.equal(windowed(small), whole(small))
    assert not torch.allclose(windowed(large), whole(large))  # larger maps are gated locally
