"""`facebench quality` end to end on a tiny pair folder, checked against the metric functions directly."""
import csv

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.commands.quality_cmd import quality_cmd
from facebench.degrade import jpeg_roundtrip
from facebench.image_quality import psnr, psnr_b, ssim


def _pair_folder(root):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:24, 0:32] / 6.0
    pairs = []
    for i in range(2):
        high = np.clip(np.stack([120 + 80 * np.sin(xx + yy * (c + i)) for c in range(3)], -1)
                       + rng.normal(0, 5, (24, 32, 3)), 0, 255).astype(np.uint8)
        low = (high * 0.3).astype(np.uint8)
        for side, img in (("low", low), ("high", high)):
            (root / side).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / side / f"{i}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        pairs.append((low, high))
    return pairs


def test_quality_table_none_and_gamma(tmp_path):
    pairs = _pair_folder(tmp_path / "pairs")
    out = tmp_path / "q.csv"
    result = CliRunner().invoke(quality_cmd, ["--enhancer", "none", "--enhancer", "gamma", "--qf", "90",
                                              "--qf", "raw", "--pairs", str(tmp_path / "pairs"), "--device",
                                              "cpu", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "QF 90" in result.output and "QF raw" in result.output and "PSNR-B" in result.output
    rows = {r["enhancer"]: r for r in csv.DictReader(open(out))}
    assert set(rows) == {"none", "gamma"} and rows["none"]["pairs"] == "2"
    compressed = [(jpeg_roundtrip(low, 90), high) for low, high in pairs]
    for key, fn in (("psnr", psnr), ("ssim", ssim), ("psnr_b", psnr_b)):
        expected = np.mean([fn(t, h) for t, h in compressed])
        assert float(rows["none"][f"{key}@90"]) == pytest.approx(expected, abs=1e-5)
    raw = np.mean([psnr(low, high) for low, high in pairs])
    assert float(rows["none"]["psnr@raw"]) == pytest.approx(raw, abs=1e-5)
    # gamma 0.4 brightens the 0.3x-darkened images towards their references
    assert float(rows["gamma"]["psnr@90"]) > float(rows["none"]["psnr@90"])


def test_quality_bad_pairs_folder_is_one_line(tmp_path):
    (tmp_path / "low").mkdir()
    result = CliRunner().invoke(quality_cmd, ["--enhancer", "none", "--pairs", str(tmp_path)])
    assert result.exit_code != 0 and "no high/ folder" in result.output
    assert "Traceback" not in result.output


def test_quality_passes_enhancer_options(tmp_path):
    _pair_folder(tmp_path / "pairs")
    out = tmp_path / "q.csv"
    result = CliRunner().invoke(quality_cmd, ["--enhancer", "none", "--enhancer", "gamma", "--enhancer-opt",
                                              "gamma.gamma=1.0", "--pairs", str(tmp_path / "pairs"), "--device",
                                              "cpu", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = {r["enhancer"]: r for r in csv.DictReader(open(out))}
    assert rows["gamma"]["psnr@90"] == rows["none"]["psnr@90"]  # gamma 1.0 is the identity
    result = CliRunner().invoke(quality_cmd, ["--enhancer", "gamma", "--enhancer-opt", "sci.variant=easy",
                                              "--pairs", str(tmp_path / "pairs"), "--no-progress"])
    assert result.exit_code != 0 and "--enhancer-opt names 'sci'" in result.output
    assert "Traceback" not in result.output
