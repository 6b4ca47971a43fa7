"""The `nerco` plugin's 'authors' variant under the registry-wide contract (size, range, determinism, batch
independence, identity, chains) with small random weights in the authors' layout in $FACEBENCH_HOME/nerco/
(the authors' released files are not in ../shared; tests/test_all_plugins.py checks the default variant,
the shipped weights), plus its pre/post-processing, the shipped default, its `facebench list` status and
the missing-weights messages."""
import json

import pytest
import torch

from facebench.enhancers.nerco.enhancer import network_size
from facebench.enhancers.nerco.model import NeRCoArch, NeRCoNet
from facebench.enhancers.nerco import weights_io
from facebench.enhancers.nerco.weights_io import AUTHOR_FILES
from facebench.plugins import ENHANCERS, build_enhancer
from facebench.weights import MissingWeightsError
from facebench.weights_sources import PackagedFile

pytestmark = pytest.mark.usefixtures("one_thread")
AUTHORS = {"": {"variant": "authors"}}
# enhancers/weights/nerco_cpu.pt as committed (MODEL_CARD.md, "3,000 more steps on the same scenes")
SHIPPED_SHA256 = "e7326782ab86"


@pytest.fixture(scope="module")
def small_net() -> NeRCoNet:
    torch.manual_seed(0)
    return NeRCoNet(NeRCoArch(ngf=16, blocks=1, nrn_hidden=16)).eval()


@pytest.fixture
def home(small_net, tmp_path, monkeypatch):
    """$FACEBENCH_HOME with nerco/latest_net_{G_A,Pre,H}.pth holding `small_net`."""
    folder = tmp_path / "home" / "nerco"
    folder.mkdir(parents=True)
    state = small_net.state_dict()
    for prefix, name in AUTHOR_FILES.items():
        torch.save({k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}, folder / name)
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path / "home"))
    return folder


def _dark_images(shape=(2, 3, 37, 53)) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return (torch.rand(shape, generator=generator) * 0.3 * 255).round() / 255


@pytest.mark.parametrize("shape", [(2, 3, 37, 53), (1, 3, 1, 7), (3, 3, 5, 1), (1, 3, 40, 64)])
def test_keeps_shape_range_and_dtype(home, shape):
    x = _dark_images(shape)
    out = build_enhancer("nerco", options=AUTHORS)(x.clone())
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x, atol=1e-2)  # it does change the image


def test_deterministic_per_image_and_chainable(home):
    enhancer = build_enhancer("nerco", options=AUTHORS)
    x = _dark_images()
    out = enhancer(x.clone())
    assert torch.equal(enhancer(x.clone()), out)
    assert torch.equal(enhancer(x[1:].clone()), out[1:])  # images run one at a time
    chain = build_enhancer("nerco+gamma", options={"nerco": {"variant": "authors"}})
    assert torch.equal(chain(x), build_enhancer("gamma")(out))


def test_identity_records_architecture_and_weights(home):
    enhancer = build_enhancer("nerco", options=AUTHORS)
    identity = json.loads(json.dumps(enhancer.identity()))
    assert identity["name"] == "nerco"
    assert identity["settings"] == {"ngf": 16, "blocks": 1, "nrn_hidden": 16, "extractor_blocks": 3}
    assert identity["weights"]["path"] == str(home.resolve()) and "Ysz2022/NeRCo" in identity["weights"]["source"]
    (home / "latest_net_H.pth").write_bytes((home / "latest_net_H.pth").read_bytes() + b"\0")
    assert build_enhancer("nerco", options=AUTHORS).identity()["weights"]["sha256"] != identity["weights"]["sha256"]


def test_multiple_of_four_input_runs_as_is(home, small_net):
    """A 40 x 64 image is not resized: output = (fake_B + 1) / 2 of the network on 2x - 1."""
    x = _dark_images((1, 3, 40, 64))
    with torch.no_grad():
        expected = ((small_net(x * 2 - 1)["fake_B"] + 1) / 2).clamp(0, 1)
    assert torch.allclose(build_enhancer("nerco", options=AUTHORS)(x), expected, atol=1e-6)
    assert network_size(37, 53) == (36, 52) and network_size(1080, 720) == (1080, 720)
    assert network_size(1, 7) == (8, 8) and network_size(10, 14) == (8, 16)  # Python rounding: 2.5 -> 2, 3.5 -> 4


def test_default_is_the_shipped_cpu_model_even_with_authors_files_present(home):
    enhancer = build_enhancer("nerco")
    identity = enhancer.identity()
    assert identity["weights"]["path"] == str(weights_io.SHIPPED_WEIGHTS.resolve())
    assert identity["weights"]["sha256"].startswith(SHIPPED_SHA256)
    assert identity["weights"]["source"] == weights_io.SHIPPED_SOURCE
    assert identity["settings"] == {"ngf": 16, "blocks": 6, "nrn_hidden": 64, "extractor_blocks": 3}
    x = _dark_images((1, 3, 40, 64)) * 0.3  # a dark image (mean about 0.045)
    out = enhancer(x)
    assert out.mean() > 3 * x.mean()  # the trained model brightens it
    assert ENHANCERS.factory("nerco").weights_status().startswith("cpu: shipped: ")


def test_unknown_variant_is_one_line():
    with pytest.raises(ValueError, match="variant must be one of cpu, authors, got 'lol'"):
        build_enhancer("nerco", options={"": {"variant": "lol"}})


def test_missing_weights_one_clear_line_and_list(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as error:
        build_enhancer("nerco", options=AUTHORS)
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "nerco") in message
    assert all(name in message for name in AUTHOR_FILES.values()) and "never downloads" in message
    status = ENHANCERS.factory("nerco").weights_status()  # the weights line of `facebench list`
    assert "\n" not in status and str(tmp_path / "nerco") in status
    assert "missing" in status and "github.com/Ysz2022/NeRCo" in status and "train-enhancer nerco" in status


def test_missing_shipped_weights_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(weights_io, "SHIPPED_WEIGHTS", tmp_path / "nerco_cpu.pt")
    monkeypatch.setattr(PackagedFile, "path", tmp_path / "nerco_cpu.pt")  # what `facebench list` reports
    with pytest.raises(MissingWeightsError) as error:
        build_enhancer("nerco")
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "nerco_cpu.pt") in message
    assert "train-enhancer nerco" in message and "variant 'authors'" in message
    status = ENHANCERS.factory("nerco").weights_status()
    assert status.startswith("cpu: missing from the package") and "\n" not in status
