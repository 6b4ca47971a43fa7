"""Registries, ad hoc plugin specs, entry points and enhancer chains."""
import textwrap

import pytest
import torch

from facebench import registry as registry_module
from facebench.enhancers.chain import Chain
from facebench.plugin_api import Enhancer
from facebench.plugins import ENHANCERS, build_enhancer, resolve_enhancer_args, split_chain
from facebench.registry import PluginError, Registry


class Halve(Enhancer):
    name = "halve"

    def enhance(self, images):
        return images * 0.5


def test_duplicate_name_raises():
    reg = Registry("enhancer", "facebench.test-none")
    reg.register("x", Halve)
    with pytest.raises(PluginError, match="already registered"):
        reg.register("x", Halve)


def test_unknown_name_lists_known_names():
    with pytest.raises(PluginError, match=r"unknown enhancer 'nope'.*gamma.*none"):
        ENHANCERS.factory("nope")


def test_module_spec_and_missing_attribute():
    from facebench.enhancers.classic import Gamma

    assert ENHANCERS.factory("facebench.enhancers.classic:Gamma") is Gamma
    with pytest.raises(PluginError, match="has no attribute 'Nope'"):
        ENHANCERS.factory("facebench.enhancers.classic:Nope")
    with pytest.raises(PluginError, match="cannot import module"):
        ENHANCERS.factory("facebench.no_such_module:Gamma")


def test_file_spec_loads_class_from_outside_the_package(tmp_path):
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text(textwrap.dedent("""
        from facebench.plugin_api import Enhancer
        class Brighten(Enhancer):
            name = "brighten"
            def enhance(self, images):
                return (images * 2).clamp(0, 1)
    """))
    enhancer = build_enhancer(f"{plugin}:Brighten")
    x = torch.full((1, 3, 5, 7), 0.2)
    assert torch.allclose(enhancer(x), torch.full_like(x, 0.4))
    with pytest.raises(PluginError, match="does not exist"):
        build_enhancer(f"{tmp_path / 'absent.py'}:Brighten")


def test_entry_point_group_is_searched(monkeypatch):
    class FakeEntryPoint:
        name, value = "gamma-ep", "facebench.enhancers.classic:Gamma"

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [FakeEntryPoint] if group == "g" else [])
    reg = Registry("enhancer", "g")
    assert "gamma-ep" in reg.names()
    assert reg.create("gamma-ep").name == "gamma"


def test_chain_applies_parts_in_order_and_records_each_identity(monkeypatch):
    monkeypatch.setitem(ENHANCERS._entries, "halve-test", Halve)
    chain = build_enhancer("gamma+halve-test")
    assert isinstance(chain, Chain)
    x = torch.rand(2, 3, 9, 11)
    assert torch.allclose(chain(x), x.pow(0.4) * 0.5)
    identity = chain.identity()
    assert [p["name"] for p in identity["chain"]] == ["gamma", "halve"]
    assert identity["chain"][0]["settings"] == {"gamma": 0.4}


def test_double_plus_belongs_to_the_name():
    assert split_chain("zerodce++") == ["zerodce++"]
    assert split_chain("deblock+zerodce++") == ["deblock", "zerodce++"]
    assert split_chain("zerodce+++gamma") == ["zerodce++", "gamma"]
    with pytest.raises(PluginError, match="single"):
        Registry("enhancer", "g").register("a+b", Halve)


def test_chain_spec_errors():
    with pytest.raises(PluginError, match="empty part"):
        split_chain("gamma+")
    with pytest.raises(PluginError, match="not one of the enhancers"):
        resolve_enhancer_args(["gamma+he"], {"mlsm": "x.pt"}, {})
    with pytest.raises(PluginError, match="needs exactly one enhancer"):
        resolve_enhancer_args(["gamma", "he"], {}, {"": {"gamma": 0.5}})
    assert resolve_enhancer_args(["none", "gamma+he"], {}, {"gamma": {"gamma": 0.5}}) == ({}, {"gamma": {"gamma": 0.5}})


def test_enhancer_options_reach_the_right_part():
    chain = build_enhancer("gamma+clahe", options={"gamma": {"gamma": 0.5}, "clahe": {"clip_limit": 3.0}})
    assert [p.settings() for p in chain.parts] == [{"gamma": 0.5}, {"clip_limit": 3.0, "tile_grid": 8}]
    assert build_enhancer("gamma", options={"": {"gamma": 0.7}}).settings() == {"gamma": 0.7}
    with pytest.raises(PluginError, match=r"no setting 'gamma_typo' \(its settings: gamma \(float\)\)"):
        build_enhancer("gamma", options={"": {"gamma_typo": 0.7}})


def test_none_changes_nothing_and_builtins_keep_size():
    x = torch.rand(1, 3, 13, 17)
    assert torch.equal(build_enhancer("none")(x), x)
    for name in ("gamma", "he", "clahe"):
        y = build_enhancer(name)(x * 0.2)
        assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
        assert y.mean() > (x * 0.2).mean(), name


def test_command_line_settings_are_typed():
    from facebench.commands.options import parse_enhancer_options, parse_settings

    assert parse_settings(["a=2", "b=0.5", "c=True", "d=false", "e=wider"], "--x") == {
        "a": 2, "b": 0.5, "c": True, "d": False, "e": "wider"}
    assert parse_enhancer_options(["sci.variant=easy", "zerodce++.scale_factor=12", "gamma=0.5"]) == {
        "sci": {"variant": "easy"}, "zerodce++": {"scale_factor": 12}, "": {"gamma": 0.5}}


LOGCURVE = textwrap.dedent("""
    import torch
    from facebench.plugin_api import Enhancer

    class LogCurve(Enhancer):
        name = "logcurve"

        def __init__(self, k: float = 20.0):
            super().__init__()
            self.k = k

        def settings(self):
            return {"k": self.k}

        def enhance(self, images):
            return torch.log1p(self.k * images) / torch.log1p(torch.tensor(self.k))
""")


def test_options_and_weights_may_name_the_plugin_by_its_own_name(tmp_path):
    plugin = tmp_path / "my_enhancer.py"
    plugin.write_text(LOGCURVE)
    spec = f"{plugin}:LogCurve"
    weights, options = resolve_enhancer_args(["none", spec], {}, {"logcurve": {"k": 5}})
    assert weights == {} and options == {spec: {"k": 5}}
    enhancer = build_enhancer(spec, options=options)
    assert enhancer.settings() == {"k": 5.0} and isinstance(enhancer.k, float)


def test_unknown_option_name_lists_the_accepted_forms(tmp_path):
    plugin = tmp_path / "my_enhancer.py"
    plugin.write_text(LOGCURVE)
    with pytest.raises(PluginError, match=r"not one of the enhancers.*NAME\.KEY=VALUE with NAME one of: none, logcurve"):
        resolve_enhancer_args(["none", f"{plugin}:LogCurve"], {}, {"logk": {"k": 5}})


def test_unnamed_option_goes_to_the_one_enhancer_beside_the_baseline():
    assert resolve_enhancer_args(["none", "gamma"], {"": "w.pt"}, {"": {"gamma": 1}}) == (
        {"gamma": "w.pt"}, {"gamma": {"gamma": 1}})


def test_settings_are_coerced_to_the_declared_types():
    from facebench.plugin_args import coerce_value
    from typing import Optional, Tuple

    assert coerce_value(5, float, "k") == 5.0 and isinstance(coerce_value(5, float, "k"), float)
    assert coerce_value(8.0, int, "n") == 8 and isinstance(coerce_value(8.0, int, "n"), int)
    assert coerce_value(None, Optional[int], "qf") is None and coerce_value(90.0, Optional[int], "qf") == 90
    assert coerce_value([15, 80], Tuple[float, ...], "scales") == (15.0, 80.0)
    assert coerce_value(True, bool, "flip") is True
    for value, annotation in (("abc", float), (2.5, int), (1, bool), ("x", Tuple[float, ...])):
        with pytest.raises(PluginError, match="expected"):
            coerce_value(value, annotation, "setting")


def test_weights_for_a_plugin_without_weights_is_one_clear_error():
    with pytest.raises(PluginError, match=r"enhancer 'gamma' takes no weights \(got --weights gamma=x.pt\)"):
        build_enhancer("gamma", {"gamma": "x.pt"})
