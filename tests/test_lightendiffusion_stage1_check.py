"""experiments/lightendiffusion_stage1_check.py: its PSNRs mean what they say (on a random small CTDN), and
the command reads a paired folder and a stage-1 file."""
import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facebench.checkpoint import save_checkpoint
from facebench.enhancers.lightendiffusion.architecture import SMALL
from facebench.enhancers.lightendiffusion.ctdn import CTDN
from facebench.experiments.lightendiffusion_stage1_check import main, stage1_scores

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ctdn() -> CTDN:
    torch.manual_seed(0)
    return CTDN(SMALL.recon_channels, SMALL.retinex_channels, SMALL.heads).eval()


def test_scores_compare_the_right_images(ctdn):
    low = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 0.4
    same = stage1_scores(ctdn, low, low)
    assert same["oracle"] == same["recon high"] == same["recon low"]  # skips and latent of one image
    high = low * 2
    scores = stage1_scores(ctdn, low, high)
    assert scores["none"] == pytest.approx(float(-10 * torch.log10(low.pow(2).mean())), abs=1e-4)
    assert scores["recon high"] != scores["oracle"]  # the oracle decodes with the low image's skips


def test_command_reads_pairs_and_the_last_n(ctdn, tmp_path):
    for side in ("low", "high"):
        (tmp_path / "pairs" / side).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        high = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / "pairs" / "high" / f"{name}.png"), high)
        cv2.imwrite(str(tmp_path / "pairs" / "low" / f"{name}.png"), high // 5)
    save_checkpoint(tmp_path / "stage1.pt", {"model": ctdn.state_dict(), "metadata": {}})
    result = CliRunner().invoke(main, [str(tmp_path / "stage1.pt"), "--pairs", str(tmp_path / "pairs"), "--last", "2"])
    assert result.exit_code == 0, result.output
    assert "2 pairs" in result.output and "oracle, synthetic" in result.output and "none" in result.output
