"""Each built-in's metadata is declared once, where it is registered, and agrees with its class: the class
uses that object as its `meta`, the listed options are its constructor's settings with their defaults,
and a missing user file is the one its constructor asks for."""
import dataclasses

import pytest

from facebench.detectors import BUILTIN_DETECTORS
from facebench.detectors.pyramidbox import inference as pyramidbox_inference
from facebench.detectors.s3fd import S3FDConfig
from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.plugin_args import constructor_settings
from facebench.plugin_registries import DETECTORS, ENHANCERS
from facebench.weights import MissingWeightsError
from facebench.weights_sources import UserFile, UserFolder

BUILTINS = [(ENHANCERS, name, builtin) for name, builtin in BUILTIN_ENHANCERS.items()] + \
           [(DETECTORS, name, builtin) for name, builtin in BUILTIN_DETECTORS.items()]
IDS = [name for _, name, _ in BUILTINS]
NOT_SETTINGS = {"net"}  # pyramidbox's prebuilt network (tests, training), not a command-line setting
# Built-ins whose constructor hands **settings to a config dataclass, and that dataclass.
SETTINGS_CONFIGS = {"s3fd": S3FDConfig, "pyramidbox": pyramidbox_inference.TestTimeConfig}
# Options that select which user file is loaded, for built-ins whose default needs none (shipped weights).
USER_FILE_OPTIONS = {"mrvae": {"variant": "authors"}, "nerco": {"variant": "authors"},
                     "lightendiffusion": {"variant": "authors"}}


def _user_files(source):
    """The names a missing-weights message must contain, for the user-file parts of a source."""
    parts = getattr(source, "sources", {"": source}).values()
    return [part.file for part in parts if isinstance(part, UserFile)] + \
           [name for part in parts if isinstance(part, UserFolder) for name in part.files]


USER_FILE_BUILTINS = [b for b in BUILTINS if _user_files(b[2].meta.weights)]


@pytest.fixture
def empty_homes(tmp_path, monkeypatch):
    for variable in ("FACEBENCH_HOME", "TORCH_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable))


@pytest.mark.parametrize("registry,name,builtin", BUILTINS, ids=IDS)
def test_the_class_uses_the_registered_metadata(registry, name, builtin, empty_homes):
    factory = registry.factory(name)
    assert factory.name == name and factory.meta is builtin.meta is registry.static_meta(name)
    assert factory.weights_status() == builtin.meta.weights.status()


@pytest.mark.parametrize("registry,name,builtin", BUILTINS, ids=IDS)
def test_options_are_the_constructor_settings_with_their_defaults(registry, name, builtin):
    expected = {key: value for key, value in constructor_settings(registry.factory(name)).items()
                if key not in NOT_SETTINGS}
    if name in SETTINGS_CONFIGS:
        expected.update({f.name: f.default for f in dataclasses.fields(SETTINGS_CONFIGS[name])})
    typed = {key: (type(value), value) for key, value in builtin.meta.options.items()}
    assert typed == {key: (type(value), value) for key, value in expected.items()}


@pytest.mark.parametrize("registry,name,builtin", USER_FILE_BUILTINS, ids=[name for _, name, _ in USER_FILE_BUILTINS])
def test_a_missing_user_file_is_the_one_the_constructor_asks_for(registry, name, builtin, empty_homes):
    with pytest.raises(MissingWeightsError) as error:
        registry.create(name, **USER_FILE_OPTIONS.get(name, {}))
    assert all(file in str(error.value) for file in _user_files(builtin.meta.weights))
    assert "missing: put" in builtin.meta.weights.status()
