"""ds.show: highlighted source as text/html with a text/plain fallback, deterministic, selectable."""

from __future__ import annotations

import html as htmllib
import inspect
import re
import subprocess
import sys
import textwrap

import pytest
import source_samples as sample
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.errors import ConfigError, DscourseError
from dscourse.viz.source import Source, SourceUnavailable, show


def _html_text(markup: str) -> str:
    """The characters a browser shows for the highlighted block (tags stripped, entities decoded)."""
    pre = re.search(r"<pre[^>]*>([\s\S]*)</pre>", markup)
    assert pre, markup[:200]
    return htmllib.unescape(re.sub(r"<[^>]+>", "", pre.group(1)))


def test_ds_show_is_the_viz_helper_and_is_listed_before_use():
    assert "show" in dir(ds)
    assert ds.show is show


def test_a_function_shows_its_exact_source_in_both_renderings():
    src = show(sample.add)
    bundle = src._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert src.code == inspect.getsource(sample.add)
    assert bundle["text/plain"].endswith(src.code)
    assert bundle["text/plain"].splitlines()[0] == "# source_samples.add  (source_samples.py)"
    assert _html_text(bundle["text/html"]).rstrip("\n") == src.code.rstrip("\n")
    assert 'style="' in bundle["text/html"]            # inline styles: no stylesheet needed in the book


def test_html_is_highlighted_not_just_escaped():
    markup = show(sample.add).html()
    keyword = re.search(r'<span style="[^"]*">def</span>', markup)
    assert keyword, "the keyword def carries a colour"


def test_output_is_deterministic_and_names_no_absolute_path_or_address():
    first = show(ds.show)._repr_mimebundle_()
    code = ("import json, dscourse as ds; from dscourse.viz.source import show; "
            "print(json.dumps(show(show)._repr_mimebundle_()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    import json
    assert json.loads(out) == first
    for text in first.values():
        assert "/work/" not in text and "/home/" not in text and not re.search(r"0x[0-9a-f]{6,}", text)
    assert first["text/plain"].splitlines()[0] == "# dscourse.viz.source.show  (dscourse/viz/source.py)"


def test_methods_are_dedented_and_decorators_unwrapped():
    method = show(sample.Acceptor.on_prepare)
    assert method.code.startswith("def on_prepare(self, ballot: int) -> bool:\n")
    assert method.name == "source_samples.Acceptor.on_prepare"
    assert show(sample.Acceptor().on_accept).code == method_src("on_accept")     # bound method
    assert "the decorated body" in show(sample.decorated).code
    assert show(sample.Acceptor.__dict__["state"]).code.startswith("@property")
    assert show(sample.Acceptor.__dict__["kind"]).code.startswith("@staticmethod")


def method_src(name: str) -> str:
    return textwrap.dedent(inspect.getsource(getattr(sample.Acceptor, name)))


def test_method_selection_shows_the_class_line_and_only_the_chosen_handlers_in_order():
    src = show(sample.Acceptor, methods=["on_accept", "on_prepare"])
    assert src.code.splitlines()[0] == "class Acceptor:"
    assert "__init__" not in src.code and "def state" not in src.code
    assert src.code.index("def on_accept") < src.code.index("def on_prepare")
    for name in ("on_accept", "on_prepare"):
        assert textwrap.indent(method_src(name).rstrip("\n"), "    ") in src.code
    compile(src.code, "<shown>", "exec")                # still valid Python
    assert show(sample.Acceptor, methods="on_accept").code == show(sample.Acceptor, methods=["on_accept"]).code


def test_library_handlers_shown_by_chapters_compile():
    from dscourse.paxos import Acceptor
    src = show(Acceptor, methods=["on_message"])
    compile(src.code, "<shown>", "exec")
    assert "Promise" in src.code and src.origin == "dscourse/paxos/basic.py"


N_LINES = len(inspect.getsource(sample.Acceptor).splitlines())


@given(st.integers(1, N_LINES), st.integers(0, N_LINES))
def test_lines_keep_exactly_the_requested_range(first, span):
    last = min(first + span, N_LINES)
    rows = inspect.getsource(sample.Acceptor).splitlines()
    got = show(sample.Acceptor, lines=(first, last)).code
    assert got == textwrap.dedent("\n".join(rows[first - 1:last])) + "\n"
    assert len(got.splitlines()) == last - first + 1


@pytest.mark.parametrize("bad", [(0, 2), (3, 2), (1, N_LINES + 1), (1,), "1-3", (1.0, 2), (True, 2)])
def test_bad_line_ranges_are_refused_naming_the_value(bad):
    with pytest.raises(ConfigError, match=r"lines=") as err:
        show(sample.Acceptor, lines=bad)
    assert repr(bad) in str(err.value) and isinstance(err.value, ValueError)


def test_unknown_method_is_refused_listing_the_methods_there_are():
    with pytest.raises(ConfigError, match=r"methods='on_promise'.*on_accept, on_prepare") as err:
        show(sample.Acceptor, methods=["on_prepare", "on_promise"])
    assert "state" in str(err.value)


def test_methods_need_a_class_and_at_least_one_name():
    with pytest.raises(ConfigError, match="unless obj is a class"):
        show(sample.add, methods=["x"])
    with pytest.raises(ConfigError, match="non-empty"):
        show(sample.Acceptor, methods=[])


@pytest.mark.parametrize("obj", [len, 42, sample.Acceptor(), object(), dict.get, "text"])
def test_objects_without_source_get_a_clear_error(obj):
    with pytest.raises(SourceUnavailable, match=r"has no Python source to show.*expected a function") as err:
        show(obj)
    assert isinstance(err.value, DscourseError) and isinstance(err.value, TypeError)


def test_code_made_at_run_time_has_no_source_and_says_so():
    namespace: dict[str, object] = {}
    exec("def made(): return 1", namespace)  # noqa: S102
    with pytest.raises(SourceUnavailable, match="made"):
        show(namespace["made"])


def test_source_is_a_frozen_value():
    src = show(sample.add)
    assert isinstance(src, Source) and str(src) == src.code
    with pytest.raises(AttributeError):
        src.code = "x"  # type: ignore[misc]
