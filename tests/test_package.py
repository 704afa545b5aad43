"""The package surface: lazy topic imports, dir() and help(), and the error hierarchy."""

import importlib
import json
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import dscourse as ds


def test_topic_packages_import_on_first_use():
    code = ("import sys, dscourse as ds; assert 'dscourse.raft' not in sys.modules; "
            "ds.raft; assert 'dscourse.raft' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("get", [lambda: ds.no_such_topic, lambda: ds.ids.no_such_module,
                                 lambda: ds.ids.snowflake_private_name, lambda: ds._private])
def test_unknown_attributes_raise_attribute_error(get):
    with pytest.raises(AttributeError):
        get()


def test_configuration_errors_are_value_errors_and_dscourse_errors():
    with pytest.raises(ValueError) as info:
        ds.sim.Simulation(seed=-1)
    assert isinstance(info.value, ds.DscourseError) and "-1" in str(info.value)


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return what it printed."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


PACKAGES = sorted(m.name for m in pkgutil.iter_modules(ds.__path__) if not m.name.startswith("_"))
ROOT = Path(__file__).resolve().parents[1]
_CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
#: the topic packages, as the import-linter "topics" contract lists them
TOPICS = [m.removeprefix("dscourse.") for c in _CONTRACTS if c["id"] == "topics" for m in c["modules"]]
#: the packages below the topics (and above them: grading, cli), which are not topics
NOT_TOPICS = {"sim", "checkers", "history", "viz", "grading", "cli", "errors", "notebook"}


def test_every_topic_package_joins_the_import_contracts():
    """A new topic must be added to pyproject.toml's contracts, or its layering goes unchecked."""
    topics = {m.name for m in pkgutil.iter_modules(ds.__path__) if m.ispkg and not m.name.startswith("_")}
    assert topics - NOT_TOPICS == set(TOPICS)
    for contract in _CONTRACTS:
        listed = contract.get("source_modules") or contract.get("modules") or []
        if contract["id"] == "labs":
            assert {m.removeprefix("dscourse.") for m in listed} == set(TOPICS)


def test_dir_lists_every_package_right_after_import_without_importing_it():
    code = ("import sys, json, dscourse as ds; names = dir(ds); "
            "print(json.dumps([names, sorted(m for m in sys.modules if m.startswith('dscourse.'))]))")
    names, loaded = json.loads(_fresh(code))
    assert set(PACKAGES) <= set(names) and {"sim", "viz", "raft", "grading", "checkers"} <= set(names)
    assert {"setup", "ConfigError", "DscourseError", "__version__"} <= set(names)
    assert not {f"dscourse.{p}" for p in ("sim", "viz", "raft", "grading", "checkers")} & set(loaded)


@pytest.mark.parametrize("package, lazy", [
    ("checkers", ["explore", "invariants", "trial"]),
    ("viz", ["display", "colors"]),
    ("grading", ["ch01"]),
    ("raft", ["labs", "visualizer", "figure", "figure8_figure", "timing_figure"]),
    ("paxos", ["labs", "debugger", "livelock_meter"]),
    ("replication", ["labs", "exercises"]),
    ("fundamentals", ["labs"]),
    ("ids", ["labs", "exercises"]),
    ("idesign", ["labs", "exercises"]),
])
def test_lazy_names_are_listed_before_use_and_load_on_first_access(package, lazy):
    code = (f"import json, dscourse as ds; pkg = ds.{package}; listed = dir(pkg); "
            f"got = [type(getattr(pkg, n)).__name__ for n in {lazy!r}]; "
            f"print(json.dumps([listed, got, all(n in vars(pkg) for n in {lazy!r})]))")
    listed, kinds, cached = json.loads(_fresh(code))
    assert set(lazy) <= set(listed)
    assert all(k in ("module", "function", "type") for k in kinds)
    assert cached                                  # looked up once, then a plain attribute


def test_checkers_explore_and_viz_modules_work_without_a_prior_import():
    assert _fresh("import dscourse as ds; print(ds.checkers.explore.__name__, ds.viz.display.new_figure.__name__)") \
        == "dscourse.checkers.explore new_figure"


@pytest.mark.parametrize("topic", TOPICS)
def test_importing_a_topic_loads_neither_its_labs_nor_viz(topic):
    code = (f"import sys, dscourse.{topic}; "
            f"print(sorted(m for m in sys.modules if m.endswith('.labs') or m.startswith('dscourse.viz')))")
    assert _fresh(code) == "[]"


def test_topic_widgets_keep_the_names_notebooks_use():
    from dscourse.paxos import labs as paxos_labs
    from dscourse.raft import labs as raft_labs

    assert ds.raft.visualizer is raft_labs.visualizer and ds.raft.figure is raft_labs.figure
    assert ds.paxos.debugger is paxos_labs.debugger and ds.paxos.livelock_meter is paxos_labs.livelock_meter
    assert isinstance(ds.paxos.debugger("duel"), paxos_labs.PaxosDebugger)


def test_help_opens_with_one_line_per_package():
    doc = ds.__doc__
    assert doc.splitlines()[0].startswith("dscourse: ")
    for name in PACKAGES:
        lines = [line for line in doc.splitlines() if line.startswith(f"* ``ds.{name}`` -- ")]
        assert len(lines) == 1, f"ds.{name} needs one line in dscourse/__init__.py's docstring"
    assert "ValueError" not in doc.splitlines()[0] and "Exception" not in doc


@pytest.mark.parametrize("module", ["dscourse", "dscourse.grading", "dscourse.checkers"])
def test_docstrings_name_modules_that_exist(module):
    doc = importlib.import_module(module).__doc__
    refs = set(re.findall(r"``ds\.([a-z_]+(?:\.[a-z_0-9]+)*)``", doc))
    assert refs
    for ref in sorted(refs):
        obj = ds
        for part in ref.split("."):
            obj = getattr(obj, part)               # AttributeError names a stale reference


def test_lazy_keeps_a_broken_submodules_real_error(tmp_path, monkeypatch):
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from dscourse._lazy import lazy\n"
                                     "__all__ = ['ok']\nok = 1\n"
                                     "__getattr__, __dir__ = lazy(__name__, globals(), None, {'fig': 'draw'})\n")
    (pkg / "draw.py").write_text("import no_such_dependency_xyz\nfig = 2\n")
    (pkg / "good.py").write_text("value = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("lazypkg")
    assert {"ok", "draw", "good", "fig"} <= set(dir(mod)) and "_private" not in dir(mod)
    assert mod.good.value == 3 and "good" in vars(mod)
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        _ = mod.draw                                # the missing dependency, not "no attribute draw"
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        _ = mod.fig
    with pytest.raises(AttributeError, match="nothing_here"):
        _ = mod.nothing_here
    for name in [m for m in sys.modules if m.startswith("lazypkg")]:
        del sys.modules[name]                     # leave no trace for other tests
