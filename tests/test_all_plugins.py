"""The same basic checks for every registered enhancer and detector (timm's test_models.py pattern).

Plugins are taken from the registries (`facebench.plugins.ENHANCERS` / `DETECTORS`), so a newly
registered plugin is checked without editing this file. Each plugin is first built with an empty
$FACEBENCH_HOME (and torch hub folder); one that then raises MissingWeightsError is rebuilt with the
authors' weights from ../shared (`weights_home`), and skips, giving the message, when they are absent.
Images are tiny (2 x 37 x 53, 1 x 7, 5 x 1): LIME, MSRCR and the CNNs are slow at full size.
"""
import json

import pytest
import torch

from facebench.plugins import DETECTORS, ENHANCERS, build_detector, build_enhancer
from facebench.weights import MissingWeightsError

pytestmark = pytest.mark.usefixtures("one_thread")

ENHANCER_NAMES = ENHANCERS.names()
DETECTOR_NAMES = DETECTORS.names()
# Detectors whose weights are user files (never shipped nor packaged): name -> file the message must name.
USER_WEIGHT_DETECTORS = {"pyramidbox": "pyramidbox.pth", "s3fd": "s3fd-619a316812.pth"}


@pytest.fixture
def empty_homes(tmp_path, monkeypatch):
    """Empty $FACEBENCH_HOME and $TORCH_HOME (so no user weights are found anywhere)."""
    for variable in ("FACEBENCH_HOME", "TORCH_HOME"):
        (tmp_path / variable).mkdir()
        monkeypatch.setenv(variable, str(tmp_path / variable))


def _build_enhancer(spec: str, request):
    """build_enhancer(spec); on missing weights, again with ../shared's weights, else skip with the message."""
    try:
        return build_enhancer(spec)
    except MissingWeightsError:
        request.getfixturevalue("weights_home")  # skips when ../shared is absent
    try:
        return build_enhancer(spec)
    except MissingWeightsError as exc:
        pytest.skip(f"{spec}: {exc}")


def _dark_images(shape=(2, 3, 37, 53)) -> torch.Tensor:
    """Tensor[shape] float32 in [0, 0.3] on the 8-bit grid, fixed seed (default: odd H and W)."""
    generator = torch.Generator().manual_seed(0)
    return (torch.rand(shape, generator=generator) * 0.3 * 255).round() / 255


def _is_one_line(text) -> bool:
    return isinstance(text, str) and text.strip() != "" and "\n" not in text


@pytest.mark.parametrize("shape", [(2, 3, 37, 53), (1, 3, 1, 7), (3, 3, 5, 1)], ids=["2x37x53", "1x1x7", "3x5x1"])
@pytest.mark.parametrize("name", ENHANCER_NAMES)
def test_enhancer_keeps_shape_range_and_device(name, shape, request, empty_homes):
    x = _dark_images(shape)
    out = _build_enhancer(name, request)(x.clone())
    assert out.shape == x.shape
    assert out.dtype == torch.float32 and out.device == x.device
    assert torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", ENHANCER_NAMES)
def test_enhancer_is_deterministic_and_per_image(name, request, empty_homes):
    """The same input gives the same output; an image's output does not depend on its batch."""
    enhancer = _build_enhancer(name, request)
    x = _dark_images()
    out = enhancer(x.clone())
    assert torch.equal(enhancer(x.clone()), out)
    assert torch.allclose(enhancer(x[1:].clone()), out[1:], atol=1e-5)


@pytest.mark.parametrize("name", ENHANCER_NAMES)
def test_enhancer_identity_status_and_meta(name, request, empty_homes):
    enhancer = _build_enhancer(name, request)
    identity = json.loads(json.dumps(enhancer.identity()))
    assert identity["name"] == name == enhancer.name
    assert _is_one_line(type(enhancer).weights_status())
    assert _is_one_line(enhancer.meta.description)


@pytest.mark.parametrize("name", ENHANCER_NAMES)
def test_chain_is_composition(name, request, empty_homes):
    """'a+b' = b(a(x)); the second part is gamma (he after gamma itself); 'zerodce+++gamma' parses '++'."""
    second = "he" if name == "gamma" else "gamma"
    first_alone, second_alone = _build_enhancer(name, request), _build_enhancer(second, request)
    chain = _build_enhancer(f"{name}+{second}", request)
    x = _dark_images()
    assert chain.identity()["chain"] == [first_alone.identity(), second_alone.identity()]
    assert torch.equal(chain(x), second_alone(first_alone(x)))


def test_none_returns_input_unchanged():
    x = _dark_images()
    assert torch.equal(build_enhancer("none")(x), x)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_detector_weights_status_is_one_line(name, empty_homes):
    assert _is_one_line(DETECTORS.factory(name).weights_status())


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_detector_runs_or_names_missing_weights(name, empty_homes):
    """Without user weights: user-weight detectors raise one line naming the file; the others run on a
    black 64 x 80 image and give one Tensor[N, 5] of boxes inside it."""
    if name in USER_WEIGHT_DETECTORS:
        with pytest.raises(MissingWeightsError) as error:
            build_detector(name)
        assert _is_one_line(str(error.value)) and USER_WEIGHT_DETECTORS[name] in str(error.value)
        return
    if name == "mtcnn":
        pytest.importorskip("facenet_pytorch", reason="mtcnn needs the optional facenet-pytorch")
    detector = build_detector(name)
    assert json.loads(json.dumps(detector.identity()))["name"] == name
    detections = detector(torch.zeros(1, 3, 64, 80))
    assert isinstance(detections, list) and len(detections) == 1
    det = detections[0]
    assert det.dtype == torch.float32 and det.dim() == 2 and det.shape[1] == 5
    assert torch.isfinite(det).all()
    assert (det[:, 0] >= 0).all() and (det[:, 2] <= 80).all() and (det[:, 0] <= det[:, 2]).all()
    assert (det[:, 1] >= 0).all() and (det[:, 3] <= 64).all() and (det[:, 1] <= det[:, 3]).all()
    assert ((det[:, 4] >= 0) & (det[:, 4] <= 1)).all()
