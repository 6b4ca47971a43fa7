"""The README's plugin example runs as printed, and its test command is what CI runs."""
import re
from pathlib import Path

import torch

from facebench.plugins import build_enhancer

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_enhancer_plugin_example_runs_from_a_file(tmp_path):
    code = next(block for block in re.findall(r"```python\n(.*?)```", README, re.S) if "class LogCurve" in block)
    (tmp_path / "my_enhancer.py").write_text(code)
    enhancer = build_enhancer(f"{tmp_path / 'my_enhancer.py'}:LogCurve")
    x = torch.rand(2, 3, 11, 13) * 0.2
    y = enhancer(x)
    assert y.shape == x.shape and (y >= x).all() and y.max() <= 1
    assert enhancer.identity() == {"name": "logcurve", "settings": {"k": 20.0}, "weights": None}


def test_readme_has_exactly_one_test_command_block():
    blocks = re.findall(r"<!-- test-command -->\n```bash\n(.*?)\n```\n<!-- /test-command -->", README, re.S)
    assert len(blocks) == 1 and "pytest" in blocks[0] and "pip install" in blocks[0]
