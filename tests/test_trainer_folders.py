"""Every trainer records its data folders as absolute paths, so `--resume` (which compares the saved
config with the command's) accepts the same folder however it is spelled."""
import importlib

import pytest

from facebench.commands.train_enhancer_cmd import TRAINERS

# trainer -> (subcommand or None, the folder options it records)
CASES = {
    "zerodce": (None, ["--dark"]),
    "deblock": (None, ["--data"]),
    "nerco": (None, ["--dark", "--normal"]),
    "lightendiffusion": ("stage1", ["--dark", "--normal"]),
    "mrvae": (None, ["--paired", "--synthetic"]),
}


def _command(name: str, sub):
    module, attribute = TRAINERS[name].split(":")
    command = getattr(importlib.import_module(module), attribute)
    return command.commands[sub] if sub else command


@pytest.mark.parametrize("name", sorted(CASES))
def test_data_folders_are_resolved_to_absolute_paths(name, tmp_path, monkeypatch):
    sub, folders = CASES[name]
    (tmp_path / "data" / "photos").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    args = [a for option in folders for a in (option, "../data/photos")] + ["--out", "run"]
    context = _command(name, sub).make_context(name, args)
    expected = str((tmp_path / "data" / "photos").resolve())
    for option in folders:
        value = context.params[option.lstrip("-").replace("-", "_")]
        assert (value if isinstance(value, str) else value[0]) == expected, option
