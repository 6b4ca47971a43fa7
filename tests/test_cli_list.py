"""`facebench list` reads the built-ins' declared metadata: no torch, under a second, every plugin listed."""
import os
import resource
import subprocess
import sys

from click.testing import CliRunner

from facebench import registry as registry_module
from facebench.cli import main
from facebench.plugin_registries import DETECTORS, ENHANCERS

HEAVY = ("torch", "cv2", "numpy", "onnxruntime", "facebench.plugins", "facebench.plugin_api")
_PROBE = """
import sys
from facebench.cli import main
try:
    main(["list"], prog_name="facebench")
except SystemExit:
    pass
plugin_modules = [m for m in sys.modules if m.startswith(("facebench.enhancers.", "facebench.detectors."))]
print("IMPORTED:" + ",".join([m for m in {heavy!r} if m in sys.modules] + plugin_modules))
"""


def _list_in_subprocess(env):
    """(stdout, CPU seconds) of a fresh interpreter running `facebench list`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY)], capture_output=True, text=True,
                          check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done.stdout, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_list_imports_no_plugin_code_and_shows_every_builtin_with_its_weights_status(tmp_path):
    env = dict(os.environ, FACEBENCH_HOME=str(tmp_path / "home"), TORCH_HOME=str(tmp_path / "torch"))
    out, cpu_seconds = _list_in_subprocess(env)
    assert out.strip().endswith("IMPORTED:"), f"facebench list imported {out.strip().splitlines()[-1]}"
    assert cpu_seconds < 1.0  # CPU time, so a busy machine does not make the test flaky
    lines = out.splitlines()
    for registry in (ENHANCERS, DETECTORS):
        for name in registry.names():
            meta = registry.static_meta(name)
            assert meta is not None, f"built-in {name} registered without its metadata"
            row = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
            assert lines[row].split(None, 1)[1] == meta.description
            assert lines[row + 1].split()[:1] == ["weights:"]
    for name in ("zerodce", "s3fd", "pyramidbox"):  # user files: the empty homes give "missing", naming the folder
        row = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
        assert lines[row + 1].strip().startswith("weights: missing: put") and str(tmp_path / "home") in lines[row + 1]
    assert "options: gamma=0.4" in out and "options: variant=difficult" in out and "backend=auto" in out


def test_a_third_party_plugin_is_imported_to_describe_it(monkeypatch):
    class FakeEntryPoint:
        name, value = "gamma-ep", "facebench.enhancers.classic:Gamma"

    monkeypatch.setattr(registry_module, "entry_points",
                        lambda group: [FakeEntryPoint] if group == "facebench.enhancers" else [])
    monkeypatch.setattr(ENHANCERS, "_entry_points_loaded", False)
    try:
        result = CliRunner().invoke(main, ["list"])
    finally:
        ENHANCERS._entries.pop("gamma-ep", None)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(i for i, line in enumerate(lines) if line.split()[:1] == ["gamma-ep"])
    assert "global gamma curve" in lines[row]
    assert lines[row + 1].split() == ["weights:", "no", "weights", "needed"]
    assert lines[row + 2].split() == ["options:", "gamma=0.4"]
