"""experiments/training_curves.py: the running mean, a resumed run's repeated steps, the figure it writes,
and a missing column as one line."""
import numpy as np
from click.testing import CliRunner

from facebench.experiments.training_curves import main, read_columns, running_mean


def test_running_mean_averages_the_last_rows():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    assert np.allclose(running_mean(values, 2), [1.0, 2.0, 4.0, 6.0])
    assert np.allclose(running_mean(values, 10), [1.0, 2.0, 3.0, 4.0])


def _log(path):
    path.write_text("step,loss_G,loss_D\n" + "".join(f"{10 * i},{30 - i},{1 + 0.1 * i}\n" for i in range(1, 41)))
    return path


def test_writes_a_png_of_the_columns(tmp_path):
    result = CliRunner().invoke(main, [str(_log(tmp_path / "log.csv")), "--column", "loss_G", "--column", "loss_D",
                                       "--out", str(tmp_path / "curve.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_column_is_one_line_naming_the_file(tmp_path):
    log = _log(tmp_path / "log.csv")
    result = CliRunner().invoke(main, [str(log), "--column", "cycle_A", "--out", str(tmp_path / "c.png")])
    assert result.exit_code != 0 and f"{log}: no column cycle_A" in result.output
    assert not (tmp_path / "c.png").exists()


def test_a_step_logged_twice_by_a_resumed_run_counts_once_with_its_last_row(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("step,loss_G\n10,5\n20,4\n30,3\n20,2.5\n30,2\n40,1\n")  # resumed from step 10
    data = read_columns(log, ["loss_G"])
    assert data["step"].tolist() == [10, 20, 30, 40] and data["loss_G"].tolist() == [5, 2.5, 2, 1]
