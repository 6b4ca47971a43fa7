"""`facebench score` on the official fixture and on bad prediction files."""
import re

import pytest
from click.testing import CliRunner

from facebench.cli import main


def test_score_reproduces_the_official_tool_on_the_fixture(shared):
    fixture = shared / "specs" / "darkface_eval"
    result = CliRunner().invoke(main, ["score", "--data", str(fixture / "gt"), "--pred", str(fixture / "pred"),
                                       "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    official = next(l for l in result.output.splitlines() if l.strip().startswith("official"))
    ap50 = float(re.search(r"AP@0.5: ([0-9.]+)", official).group(1))
    assert ap50 == pytest.approx(float((fixture / "official_ap.txt").read_text()), abs=1e-4)


def test_malformed_prediction_line_is_one_error_naming_file_and_line(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / "7.txt").write_text("1\n10 10 20 20\n")
    (tmp_path / "pred" / "7.txt").write_text("10 10 20 20 0.9\n10 10 20 0.5\n")
    result = CliRunner().invoke(main, ["score", "--data", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred")])
    assert result.exit_code != 0
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "7.txt:2" in message


def test_prediction_for_an_unknown_image_is_an_error(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / "1.txt").write_text("0\n")
    (tmp_path / "pred" / "2.txt").write_text("1 1 5 5 0.3\n")
    result = CliRunner().invoke(main, ["score", "--data", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred")])
    assert result.exit_code != 0 and "no ground truth for image id '2'" in result.output


def test_inverted_boxes_are_scored_with_one_warning_line(tmp_path):
    # [12, 12, 10, 10] and [10, 10, 10, 20] (inverted, zero width) are proposals that recall nothing, as in
    # the official tool: precision 1/3 at the threshold where the true hit joins (0.0), AP = 1/3.
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / "1.txt").write_text("1\n10 10 20 20\n")
    (tmp_path / "pred" / "1.txt").write_text("12 12 10 10 0.9\n\n10 10 10 20 0.8\n10 10 20 20 0.1\n")
    result = CliRunner().invoke(main, ["score", "--data", str(tmp_path / "gt"), "--pred",
                                       str(tmp_path / "pred"), "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert len(warning) == 1 and "2 detection(s)" in warning[0] and f"{tmp_path / 'pred' / '1.txt'}:1" in warning[0]
    official = next(l for l in result.output.splitlines() if l.strip().startswith("official"))
    assert float(re.search(r"AP@0.5: ([0-9.]+)", official).group(1)) == pytest.approx(1 / 3, abs=1e-6)


def test_nan_in_a_prediction_file_stays_an_error(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / "1.txt").write_text("1\n10 10 20 20\n")
    (tmp_path / "pred" / "1.txt").write_text("10 10 20 20 0.9\n10 10 nan 20 0.5\n")
    result = CliRunner().invoke(main, ["score", "--data", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred")])
    assert result.exit_code != 0 and "1.txt:2: NaN" in result.output
