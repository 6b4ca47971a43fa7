"""`facebench --help` and each command's --help are fast: no torch, OpenCV or matplotlib import."""
import resource
import subprocess
import sys

import pytest
from click.testing import CliRunner

from facebench.cli import COMMANDS, load_command, main

HEAVY = ("torch", "cv2", "matplotlib", "pycocotools", "onnxruntime", "facebench.plugins")
_PROBE = """
import sys
from facebench.cli import main
try:
    main(sys.argv[1:], prog_name="facebench")
except SystemExit:
    pass
print("HEAVY:" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def _help_in_subprocess(args):
    """(stdout, CPU seconds) of a fresh interpreter printing `facebench ARGS`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done.stdout, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.parametrize("args", [["--help"], ["eval", "--help"], ["score", "--help"], ["list", "--help"],
                                  ["plot", "--help"], ["enhance", "--help"]], ids=" ".join)
def test_help_imports_nothing_heavy_and_takes_well_under_a_second(args):
    out, cpu_seconds = _help_in_subprocess(args)
    assert "Usage: facebench" in out
    assert out.strip().endswith("HEAVY:"), f"--help imported {out.strip().splitlines()[-1]}"
    assert cpu_seconds < 1.0  # CPU time, so a busy machine does not make the test flaky


def test_group_help_lists_every_command_with_its_docstring_summary():
    for name, (path, summary) in COMMANDS.items():
        command = load_command(path)
        assert (command.help or "").strip().splitlines()[0] == summary, name
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and all(name in result.output for name in COMMANDS)
