"""SCI: the authors' CUDA-saved checkpoints load on CPU, `difficult` reproduces their output, variants."""
import numpy as np
import pytest
import torch

from facebench.datasets.images import read_image
from facebench.enhancers.sci import SCI, VARIANTS
from facebench.weights import MissingWeightsError


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def darkface_3(shared) -> torch.Tensor:
    rgb = read_image(shared / "data" / "darkface_sample" / "image" / "3.png")
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0


def test_difficult_reproduces_authors_reference(weights_home, shared, darkface_3):
    enhancer = SCI()
    assert enhancer.config.variant == "difficult"
    reference = np.load(shared / "specs" / "sci" / "reference_darkface_3.npz")["output"].astype(np.float32)
    output = enhancer.enhance(darkface_3)[0].permute(1, 2, 0).numpy()
    assert output.shape == reference.shape
    assert np.abs(output - reference).max() < 1e-3
    assert "MIT" in enhancer.weights.source


def test_variants_load_and_differ(weights_home):
    x = torch.rand(2, 3, 19, 27) * 0.2
    outputs = {}
    for variant in VARIANTS:
        enhancer = SCI(variant=variant)
        assert enhancer.settings() == {"variant": variant}
        assert enhancer.weights.path.endswith(f"{variant}.pt")
        outputs[variant] = enhancer.enhance(x)
        assert outputs[variant].shape == x.shape
        assert 0 <= outputs[variant].min() and outputs[variant].max() <= 1
        assert torch.allclose(enhancer.enhance(x[1:]), outputs[variant][1:], atol=1e-6)
    assert not torch.allclose(outputs["easy"], outputs["difficult"])


def test_bad_variant_and_missing_weights(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="easy, medium, difficult"):
        SCI(variant="hard")
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=r"sci/difficult.pt.*github.com/vis-opt-group/SCI"):
        SCI()
    assert "missing" in SCI.weights_status()


def test_wrong_file_names_the_file(shared):
    wrong = shared / "data" / "weights" / "ruas" / "dark.pt"
    with pytest.raises(ValueError, match=str(wrong)):
        SCI(weights=str(wrong))
