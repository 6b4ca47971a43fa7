"""The `mrvae` enhancer: the contract every enhancer meets (tests/test_all_plugins.py skips it until weights
are trained, so it is checked here on a small random network), its settings, and the TF-semantics layers."""
import json

import pytest
import torch

from facebench.enhancers.mrvae.enhancer import MRVAE
from facebench.enhancers.mrvae.layers import TFBatchNorm, tf_resize_bilinear
from facebench.enhancers.mrvae.model import MRVAEConfig, MRVAENet, sample
from facebench.enhancers.mrvae.weights import save_weights

pytestmark = pytest.mark.usefixtures("one_thread")


def _random_net(width: int = 4, seed: int = 0) -> MRVAENet:
    """A width-`width` network with He-scaled random weights (outputs depend visibly on the input)."""
    net = MRVAENet(MRVAEConfig(width))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
            else:
                p.copy_(0.25 + 0.1 * torch.randn(p.shape, generator=generator) if name.endswith("alpha")
                        else 0.05 * torch.randn(p.shape, generator=generator))
    return net


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("mrvae") / "w4.pt"
    save_weights(path, _random_net(), {"source": "random test network"})
    return str(path)


def _dark(shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=generator) * 0.3 * 255).round() / 255


@pytest.mark.parametrize("shape", [(2, 3, 37, 53), (1, 3, 1, 7), (3, 3, 5, 1)], ids=["2x37x53", "1x1x7", "3x5x1"])
def test_keeps_shape_dtype_and_range(weights_file, shape):
    x = _dark(shape)
    out = MRVAE(weights=weights_file)(x.clone())
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_deterministic_and_batch_independent(weights_file):
    """Each image is its own BatchNorm batch (as in the authors' eval), so neighbours do not matter."""
    enhancer, x = MRVAE(weights=weights_file), _dark((3, 3, 37, 53))
    out = enhancer(x.clone())
    assert torch.equal(enhancer(x.clone()), out)
    assert torch.allclose(enhancer(x[1:2].clone()), out[1:2], atol=1e-5)
    assert torch.allclose(enhancer(torch.cat([x[2:], x[:1]])), torch.cat([out[2:], out[:1]]), atol=1e-5)
    assert (out[0] - out[1]).abs().max() > 1e-3  # the output depends on the image


def test_noise_seed_is_deterministic_and_in_the_identity(weights_file):
    x = _dark((2, 3, 32, 48))
    mean = MRVAE(weights=weights_file)(x)
    sampled = MRVAE(weights=weights_file, noise_seed=7)
    out = sampled(x)
    assert torch.equal(sampled(x), out) and torch.allclose(sampled(x[1:]), out[1:], atol=1e-5)
    assert (out - mean).abs().max() > 1e-3
    identity = json.loads(json.dumps(sampled.identity()))
    assert identity["name"] == "mrvae" and identity["settings"]["noise_seed"] == 7
    assert len(identity["weights"]["sha256"]) == 64


def test_authors_resize_protocol_keeps_the_size(weights_file):
    x = _dark((1, 3, 40, 60))
    out = MRVAE(weights=weights_file, resize=32)(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert (out - MRVAE(weights=weights_file)(x)).abs().max() > 1e-3
    with pytest.raises(ValueError, match="multiple of 16"):
        MRVAE(weights=weights_file, resize=30)


def test_frames_above_the_size_limit_are_refused_with_the_way_out(weights_file):
    with pytest.raises(ValueError, match="max_pixels=1000.*resize=512") as error:
        MRVAE(weights=weights_file, max_pixels=1000)(_dark((1, 3, 40, 60)))
    assert "\n" not in str(error.value)


def test_forward_outputs_and_size_check():
    net, x = _random_net(2).eval(), _dark((1, 3, 32, 16))
    eps = torch.randn(1, 32, 2, 1, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = net(x, eps)
    assert out["z"].shape == out["z_mean"].shape == (1, 32, 2, 1)
    assert torch.equal(out["z"], sample(out["z_mean"], out["z_log_var"], eps))
    assert (out["z_mean"] >= 0).all() and (out["z_log_var"] >= 0).all()
    with pytest.raises(ValueError, match="multiples of 16"):
        net(_dark((1, 3, 30, 16)), eps)


def _reference_resize_x2(x):
    """The README's rule, one element at a time: out[2k] = in[k], out[2k+1] = (in[k] + in[min(k+1, n-1)]) / 2."""
    def axis(n):
        return [(k // 2, k // 2 if k % 2 == 0 else min(k // 2 + 1, n - 1)) for k in range(2 * n)]

    h, w = x.shape[-2:]
    out = torch.empty(*x.shape[:-2], 2 * h, 2 * w)
    for i, (i0, i1) in enumerate(axis(h)):
        for j, (j0, j1) in enumerate(axis(w)):
            out[..., i, j] = (x[..., i0, j0] + x[..., i0, j1] + x[..., i1, j0] + x[..., i1, j1]) / 4
    return out


def test_tf_legacy_resize_matches_the_rule():
    x = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(tf_resize_bilinear(x, (10, 14)), _reference_resize_x2(x), atol=1e-6)


def test_batch_norm_uses_batch_statistics_and_updates_only_in_training():
    bn = TFBatchNorm(3)
    with torch.no_grad():
        bn.beta.copy_(torch.tensor([0.1, -0.2, 0.3]))
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0)) * 3 + 1
    mean, var = x.mean((0, 2, 3), keepdim=True), x.var((0, 2, 3), unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-3) + bn.beta.view(1, 3, 1, 1)
    bn.eval()
    assert torch.allclose(bn(x), expected, atol=1e-5) and torch.equal(bn.moving_mean, torch.zeros(3))
    bn.train()
    assert torch.allclose(bn(x), expected, atol=1e-5)
    assert torch.allclose(bn.moving_mean, 0.001 * mean.flatten(), atol=1e-7)
