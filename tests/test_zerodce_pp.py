"""Zero-DCE++: strict load of the authors' weights, any H x W kept, the authors' computation on
multiples of 12, brightening of a real dark image. (No reference output of the authors exists here.)"""
import pytest
import torch
import torch.nn.functional as F

from facebench.datasets.images import read_image
from facebench.enhancers.zerodce_pp import ZeroDCEPlus


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def enhancer(weights_home) -> ZeroDCEPlus:
    """Zero-DCE++ with the authors' weights, found through $FACEBENCH_HOME/zerodce_pp/Epoch99.pth."""
    return ZeroDCEPlus()


def _authors_forward(net, x: torch.Tensor) -> torch.Tensor:
    """The authors' test-time computation, valid when H and W are multiples of the scale factor."""
    small = F.interpolate(x, scale_factor=1 / net.scale_factor, mode="bilinear")
    x1 = F.relu(net.e_conv1(small))
    x2 = F.relu(net.e_conv2(x1))
    x3 = F.relu(net.e_conv3(x2))
    x4 = F.relu(net.e_conv4(x3))
    x5 = F.relu(net.e_conv5(torch.cat([x3, x4], 1)))
    x6 = F.relu(net.e_conv6(torch.cat([x2, x5], 1)))
    r = torch.nn.UpsamplingBilinear2d(scale_factor=net.scale_factor)(torch.tanh(net.e_conv7(torch.cat([x1, x6], 1))))
    for _ in range(8):
        x = x + r * (x * x - x)
    return x


def test_matches_authors_computation_on_multiples_of_12(enhancer):
    x = torch.rand(2, 3, 96, 120) * 0.3
    with torch.no_grad():
        expected = _authors_forward(enhancer.net, x)
    assert torch.allclose(enhancer.enhance(x), expected, atol=1e-6)


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (37, 53), (121, 13)])
def test_keeps_any_size(enhancer, size):
    x = torch.rand(2, 3, *size) * 0.3
    out = enhancer.enhance(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_brightens_a_real_dark_image_deterministically(enhancer, shared):
    rgb = read_image(shared / "data" / "darkface_sample" / "image" / "3.png")[:719, :1079]  # odd size
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    out = enhancer.enhance(x)
    assert out.shape == x.shape
    assert out.mean() > 3 * x.mean()  # 0.021 -> ~0.13
    assert torch.equal(out, enhancer.enhance(x))
    assert enhancer.identity()["settings"] == {"scale_factor": 12}


def test_loads_strictly(shared):
    wrong = shared / "specs" / "zerodce" / "Epoch99.pth"  # Zero-DCE's weights: other keys and shapes
    with pytest.raises(ValueError, match="ZeroDCEPlusNet"):
        ZeroDCEPlus(weights=str(wrong))
