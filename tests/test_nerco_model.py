"""NeRCo networks: the spec's conformance check, the NRN against the authors' per-pixel formulation,
architecture inference, and strict loading of the authors' three-file checkpoint layout."""
import importlib.util

import pytest
import torch
import torch.nn.functional as F

from facebench.enhancers.nerco import nrn as nrn_module
from facebench.enhancers.nerco.enhancer import NeRCo
from facebench.enhancers.nerco.model import NeRCoArch, NeRCoNet, infer_arch
from facebench.enhancers.nerco.nrn import NRN
from facebench.enhancers.nerco.weights_io import AUTHOR_FILES
from facebench.weights import MissingWeightsError

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = NeRCoArch(ngf=16, blocks=2, nrn_hidden=32)


def test_conformance_with_authors_reference(shared):
    """The spec's own check: deterministic weights loaded strictly, outputs vs the authors' code (96 x 128)."""
    folder = shared / "specs" / "nerco"
    spec = importlib.util.spec_from_file_location("nerco_conformance", folder / "conformance.py")
    conformance = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conformance)
    worst = conformance.check("facebench.enhancers.nerco:conformance_model", folder / "reference_96x128.pt",
                              verbose=False)
    assert conformance.check.passed, f"max error {worst:.3e} over the tolerance"
    assert worst < 2e-4


def _reference_nrn(nrn: NRN, feat: torch.Tensor) -> torch.Tensor:
    """The authors' NRN at query grid = feature grid, written out: per pixel [unfold (9C), relative coordinate
    and its sin/cos encoding (zeros), cell (float32(2/H)*H, float32(2/W)*W)] through the MLP, local ensemble
    of four identical predictions with area weights 1e-9 / 4e-9."""
    n, c, h, w = feat.shape
    unfolded = F.unfold(feat, 3, padding=1).permute(0, 2, 1)  # [N, HW, 9C]
    cell = torch.ones(n, h * w, 2)
    cell[..., 0] *= 2 / h
    cell[..., 1] *= 2 / w
    cell[..., 0] *= h
    cell[..., 1] *= w
    inputs = torch.cat([unfolded, torch.zeros(n, h * w, nrn_module.COORD_INPUTS), cell], dim=-1)
    pred = nrn.imnet.layers(inputs)
    area = torch.full((n, h * w, 1), 1e-9)
    total = sum(pred * (area / (4 * area)) for _ in range(4))
    return total.view(n, h, w, 3).permute(0, 3, 1, 2)


def test_nrn_equals_per_pixel_mlp_and_has_the_same_gradients(monkeypatch):
    torch.manual_seed(0)
    nrn = NRN(channels=16, hidden=32)
    feat = torch.randn(2, 16, 12, 20)
    reference = _reference_nrn(nrn, feat)
    monkeypatch.setattr(nrn_module, "PIXELS_PER_BAND", 50)  # 2 rows per band: 6 bands
    banded = nrn(feat)
    assert torch.allclose(banded, reference, atol=1e-5)
    grads = []
    for output in (banded, reference):
        nrn.zero_grad()
        (output * torch.linspace(-1, 1, output.numel()).view_as(output)).sum().backward(retain_graph=True)
        grads.append(nrn.imnet.layers[0].weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-4)
    coordinate_columns = grads[0][:, 9 * 16:9 * 16 + nrn_module.COORD_INPUTS]
    assert torch.equal(coordinate_columns, torch.zeros_like(coordinate_columns))  # zero inputs, zero gradient
    assert grads[0][:, -2:].abs().sum() > 0  # the constant cell acts as a bias and is trained


def test_paper_architecture_has_the_spec_parameter_counts():
    net = NeRCoNet(NeRCoArch())
    counts = {name: sum(p.numel() for p in getattr(net, name).parameters()) for name in ("G_A", "Pre", "H")}
    assert counts == {"G_A": 11_387_587, "Pre": 11_658_051, "H": 249_765}
    assert infer_arch(net.state_dict()) == NeRCoArch()
    assert infer_arch(NeRCoNet(SMALL).state_dict()) == SMALL


def _write_authors_folder(net: NeRCoNet, folder, extra=None):
    """net's weights as the authors' three bare state dicts (prefix stripped), plus `extra` keys in H's file."""
    folder.mkdir(parents=True, exist_ok=True)
    state = net.state_dict()
    for prefix, name in AUTHOR_FILES.items():
        part = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}
        if prefix == "H":
            part.update(extra or {})
        torch.save(part, folder / name)


def test_authors_folder_loads_strictly_and_drops_instance_norm_statistics(tmp_path):
    torch.manual_seed(1)
    net = NeRCoNet(SMALL).eval()
    stats = {"model.2.running_mean": torch.zeros(16), "model.2.num_batches_tracked": torch.tensor(0)}
    _write_authors_folder(net, tmp_path / "LSRW", stats)
    enhancer = NeRCo(weights=str(tmp_path / "LSRW"))
    assert enhancer.config.ngf == 16 and enhancer.config.blocks == 2
    x = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        expected = ((net(x * 2 - 1)["fake_B"] + 1) / 2).clamp(0, 1)
    assert torch.allclose(enhancer(x), expected, atol=1e-6)
    # one of the three files names the same folder
    same = NeRCo(weights=str(tmp_path / "LSRW" / "latest_net_H.pth"))
    assert same.weights.sha256 == enhancer.weights.sha256 and len(enhancer.weights.sha256) == 64


def test_bad_or_incomplete_folders_give_one_line_errors(tmp_path):
    net = NeRCoNet(SMALL)
    _write_authors_folder(net, tmp_path / "extra", {"unexpected.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"latest_net_|weights do not fit NeRCoNet") as error:
        NeRCo(weights=str(tmp_path / "extra"))
    assert "\n" not in str(error.value) and "unexpected.weight" in str(error.value)
    _write_authors_folder(net, tmp_path / "partial")
    (tmp_path / "partial" / "latest_net_Pre.pth").unlink()
    with pytest.raises(MissingWeightsError, match="lacks latest_net_Pre.pth") as error:
        NeRCo(weights=str(tmp_path / "partial"))
    assert "\n" not in str(error.value)
    with pytest.raises(MissingWeightsError, match="do not exist"):
        NeRCo(weights=str(tmp_path / "nowhere"))
