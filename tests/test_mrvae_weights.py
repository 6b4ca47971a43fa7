"""MR-VAE weights I/O: the TF-free checkpoint reader on a checkpoint TensorFlow itself wrote, the conversion
to a facebench weights file (`facebench convert-weights mrvae`), and the enhancer's weight messages."""
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facebench.checkpoint import CheckpointError
from facebench.cli import main as facebench_main
from facebench.enhancers.mrvae.enhancer import MRVAE
from facebench.enhancers.mrvae.model import MRVAEConfig, MRVAENet
from facebench.enhancers.mrvae.tf_checkpoint import list_tensors, read_tensors, resolve_prefix
from facebench.enhancers.mrvae.weights import load_weights, model_variables, tf_to_torch, torch_key
from facebench.weights import MissingWeightsError
from facebench.weights_sources import PackagedFile

DATA = Path(__file__).resolve().parent / "test_mrvae_data"  # tiny.ckpt: TF 2.21 Saver, width 2 (see its script)
TRAINABLE = 101  # model variables with Adam slots (all but the 20 BatchNorm moving averages)


def expected_value(name: str, shape) -> np.ndarray:
    """The values make_tf_checkpoint.py stored in every model variable."""
    count = int(np.prod(shape, dtype=np.int64))
    return (((np.arange(count) * 7 + zlib.crc32(name.encode())) % 1001 - 500) / 1000).astype(np.float32).reshape(shape)


def test_reader_lists_every_tensor_tensorflow_wrote():
    entries, shards = list_tensors(DATA / "tiny.ckpt")
    model = model_variables(entries)
    assert shards == 1 and len(model) == 121
    assert len(entries) == 121 + 2 * TRAINABLE + 3  # + Adam slots, global_step, Loss/beta{1,2}_power
    assert entries["global_step"].dtype == 9 and entries["global_step"].shape == ()
    assert entries["encoder/z_mean/Conv_1/weights"].shape == (3, 3, 32, 32)
    assert entries["decoder_second/DR_out67/weights"].shape == (1, 1, 2, 5)


def test_reader_returns_the_stored_values():
    entries, _ = list_tensors(DATA / "tiny.ckpt")
    values = read_tensors(DATA / "tiny.ckpt", list(entries))
    assert values["global_step"].dtype == np.int64 and values["global_step"].item() == 1
    for name in model_variables(entries):
        np.testing.assert_array_equal(values[name], expected_value(name, entries[name].shape), err_msg=name)
    adam = values["encoder/downsampling1/Conv/weights/Adam"]  # after one Adam step: (1 - beta1) * gradient
    np.testing.assert_allclose(adam, 0.1 * 2 * expected_value("encoder/downsampling1/Conv/weights", adam.shape),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("given", ["tiny.ckpt", "tiny.ckpt.index", "tiny.ckpt.data-00000-of-00001", "."])
def test_prefix_from_any_checkpoint_path(given):
    """The folder form follows `checkpoint`, whose recorded Windows path does not exist here."""
    assert resolve_prefix(DATA / given) == DATA / "tiny.ckpt"


def test_unreadable_checkpoints_give_one_line_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no nothing.index"):
        resolve_prefix(tmp_path / "nothing")
    (tmp_path / "bad.ckpt.index").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match="bad footer magic"):
        list_tensors(tmp_path / "bad.ckpt")
    shutil.copy(DATA / "tiny.ckpt.index", tmp_path / "cut.ckpt.index")
    (tmp_path / "cut.ckpt.data-00000-of-00001").write_bytes((DATA / "tiny.ckpt.data-00000-of-00001").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated"):
        read_tensors(tmp_path / "cut.ckpt", list(model_variables(list_tensors(tmp_path / "cut.ckpt")[0])))


def test_tf_layout_becomes_torch_layout():
    kernel = np.arange(3 * 3 * 4 * 5, dtype=np.float32).reshape(3, 3, 4, 5)  # (kh, kw, in, out)
    state = tf_to_torch({"decoder_first/upsampling1/upsampling1_conv1/weights": kernel,
                         "decoder_second/residual_block2/BatchNorm_1/moving_variance": np.ones(5, np.float32)})
    weight = state["decoder_first.upsampling1.upsampling1_conv1.weight"]
    assert weight.shape == (5, 4, 3, 3) and weight[4, 3, 2, 1] == kernel[2, 1, 3, 4]
    assert torch_key("decoder_second/out64_prelu/alpha") == "decoder_second.out64_prelu.alpha"
    assert "decoder_second.residual_block2.BatchNorm_1.moving_variance" in state


def test_every_tf_variable_has_its_parameter():
    """The network's state dict keys are exactly the renamed TF variables (strict loading both ways)."""
    entries, _ = list_tensors(DATA / "tiny.ckpt")
    assert sorted(torch_key(n) for n in model_variables(entries)) == sorted(MRVAENet(MRVAEConfig(2)).state_dict())


def test_convert_command_writes_weights_the_enhancer_runs(tmp_path):
    out = tmp_path / "authors.pt"
    result = CliRunner().invoke(facebench_main, ["convert-weights", "mrvae", str(DATA), str(out)])
    assert result.exit_code == 0, result.output
    assert "width 2, 121 variables, TF global_step 1" in result.output
    net, metadata = load_weights(out)
    assert metadata["enhancer"] == "mrvae" and metadata["tf_global_step"] == 1
    kernel = net.state_dict()["encoder.downsampling1.Conv.weight"]
    expected = torch.from_numpy(expected_value("encoder/downsampling1/Conv/weights", (3, 3, 3, 2))).permute(3, 2, 0, 1)
    assert torch.equal(kernel, expected)
    enhancer = MRVAE(weights=str(out))
    assert enhancer.weights.source == "user file" and enhancer.settings()["architecture"] == {"width": 2}
    assert enhancer(torch.full((1, 3, 20, 30), 0.1)).shape == (1, 3, 20, 30)


def test_convert_command_reports_a_missing_checkpoint(tmp_path):
    result = CliRunner().invoke(facebench_main, ["convert-weights", "mrvae", str(tmp_path / "x.ckpt"), str(tmp_path / "o.pt")])
    assert result.exit_code != 0 and "no x.ckpt.index" in result.output


def test_missing_weights_give_one_actionable_line(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))
    monkeypatch.setattr("facebench.enhancers.mrvae.enhancer.SHIPPED_WEIGHTS", tmp_path / "mrvae_cpu.pt")
    monkeypatch.setattr(PackagedFile, "path", tmp_path / "mrvae_cpu.pt")  # what `facebench list` reports
    for variant, needle in (("cpu", "missing from the package"), ("authors", "mrvae/authors.pt")):
        with pytest.raises(MissingWeightsError) as error:
            MRVAE(variant=variant)
        assert needle in str(error.value) and "\n" not in str(error.value)
        assert "convert-weights mrvae" in str(error.value)
    status = MRVAE.weights_status()
    assert "missing from the package" in status and "missing: put mrvae/authors.pt" in status and "\n" not in status


def test_a_file_of_another_model_is_refused(tmp_path):
    torch.save({"model": {}, "metadata": {"enhancer": "deblock"}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an MR-VAE weights file"):
        MRVAE(weights=str(tmp_path / "other.pt"))
