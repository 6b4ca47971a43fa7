"""RUAS: strict loading of the authors' three variants; `dark` reproduces their u_3 and denoised output."""
import numpy as np
import pytest
import torch

from facebench.datasets.images import read_image
from facebench.enhancers.ruas import RUAS, max2x2
from facebench.weights import MissingWeightsError


pytestmark = pytest.mark.usefixtures("one_thread")


def test_dark_reproduces_authors_output_and_denoised(weights_home, shared):
    enhancer = RUAS()
    assert enhancer.settings() == {"variant": "dark", "output": "enhanced"}
    x = torch.from_numpy(read_image(shared / "data" / "darkface_sample" / "image" / "3.png"))
    x = x.permute(2, 0, 1)[None].float() / 255.0
    reference = np.load(shared / "specs" / "ruas" / "reference_dark_darkface_3.npz")
    with torch.no_grad():
        u3, denoised = enhancer.net(x)
    for name, ours in (("output", u3), ("denoised", denoised)):
        expected = reference[name].astype(np.float32)
        assert np.abs(ours[0].permute(1, 2, 0).numpy() - expected).max() < 1e-3, name
    assert torch.equal(enhancer.enhance(x[:, :, :64, :96]), enhancer.net(x[:, :, :64, :96])[0])


def test_variants_pick_the_authors_output(weights_home):
    x = torch.rand(2, 3, 21, 17) * 0.3
    for variant, output in (("lol", "denoised"), ("upe", "enhanced")):
        enhancer = RUAS(variant=variant)
        assert enhancer.config.output == output
        out = enhancer.enhance(x)
        assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
        with torch.no_grad():
            u3, denoised = enhancer.net(x)
        assert torch.equal(out, (denoised if output == "denoised" else u3).clamp(0, 1))


def test_max2x2_against_loops():
    x = torch.rand(1, 2, 4, 5)
    expected = torch.zeros_like(x)
    for i in range(4):
        for j in range(5):
            window = torch.nn.functional.pad(x, (0, 1, 0, 1))[:, :, i:i + 2, j:j + 2]
            expected[:, :, i, j] = window.amax((2, 3))
    assert torch.equal(max2x2(x), expected)


def test_strict_loading_and_messages(shared, tmp_path, monkeypatch):
    partial = shared / "data" / "weights" / "ruas" / "denoise.pt"  # the denoiser alone
    with pytest.raises(ValueError, match=str(partial)):
        RUAS(weights=str(partial))
    with pytest.raises(ValueError, match="dark, lol, upe"):
        RUAS(variant="night")
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=r"ruas/dark.pt.*github.com/KarelZhang/RUAS"):
        RUAS()
