"""`facebench eval` evaluates the `none` baseline first and prints every enhancer's paired difference
against it (issue 11); `--no-baseline` leaves it out."""
import json

import pytest
from click.testing import CliRunner

from facebench.cli import main
from test_cli_new_user import tiny  # noqa: F401  (the 3-image set and the file detector)


def _eval(tiny, tmp_path, *args):  # noqa: F811
    base = ["eval", "--data", str(tiny / "data"), "--detector", f"{tiny / 'detector.py'}:BrightSquares",
            "--device", "cpu", "--no-progress", "--out", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(main, base + list(args))
    assert result.exit_code == 0, result.output
    return result.output, json.loads((tmp_path / "run" / "results.json").read_text())


@pytest.mark.usefixtures("one_thread")
def test_headline_command_prints_a_none_row_and_the_paired_difference(tiny, tmp_path):  # noqa: F811
    output, results = _eval(tiny, tmp_path, "--enhancer", "mlsm", "--qf", "90", "--bootstrap", "50")
    assert results["enhancers"] == ["none", "mlsm"]
    rows = [line.split("|")[0].strip() for line in output.splitlines()
            if "| QF  90:" in line and not line.startswith("enhancer")]
    assert rows == ["none", "mlsm", "none", "mlsm"]  # official and COCO tables
    diff = results["runs"][1]["vs_none"]["official"]["0.5"]
    assert diff["ci_low"] <= diff["diff"] <= diff["ci_high"]
    line = next(l for l in output.splitlines() if l.strip().startswith("mlsm - none @ QF 90:"))
    assert f"{diff['diff']:+.4f}" in line and "95% CI" in line and "->" in line


def test_baseline_is_first_even_when_given_later_and_not_duplicated(tiny, tmp_path):  # noqa: F811
    _, results = _eval(tiny, tmp_path, "--enhancer", "gamma", "--enhancer", "none", "--bootstrap", "0")
    assert results["enhancers"] == ["none", "gamma"] and "vs_none" in results["runs"][1]


def test_no_baseline_compares_with_the_first_enhancer_given(tiny, tmp_path):  # noqa: F811
    output, results = _eval(tiny, tmp_path, "--enhancer", "gamma", "--enhancer", "clahe", "--no-baseline",
                            "--bootstrap", "0")
    assert results["enhancers"] == ["gamma", "clahe"] and "vs_gamma" in results["runs"][1]
    assert "none " not in output and "clahe - gamma @ QF 90:" in output
