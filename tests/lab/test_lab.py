"""Every chapter in a real JupyterLab 4 (and one in Notebook 7), as a learner opens it.

For each chapter of ``_toc.yml``: its MyST renders (every markdown cell through
jupyterlab-myst, each "Seed check" callout as a callout, citations, glossary roles and math
without raw markup); running all cells raises nothing and every widget view draws; and the
chapter's main widget answers its basic interaction. The main widget is the first *player*
(step and undo buttons: ``ds.viz.Player`` and what builds on it) whose run has something
left to step: step changes what it shows and undo brings the view back exactly, a fault
button (crash, partition, drop...) changes it and undo takes the fault back, play moves it on
and pause stops it. Otherwise it is the first *lab* (sliders, dropdowns): moving its first
control redraws it and moving it back restores the view exactly; a chapter whose players'
runs are all over and that has no lab gets the fault-and-undo check on its first player.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from .conftest import skip_or_fail_module
from .driver import NB, RENDERED, Notebook, Widget, open_notebook

skip_or_fail_module()

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from build_book import toc_files  # noqa: E402


def chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{f}.ipynb" for f in toc_files(toc) if Path(f).name.startswith("ch") and f.startswith("book/")]


# MyST markup that must not survive rendering: a role or directive name in braces, a
# directive fence, a directive option line.
RAW_MYST = re.compile(r"\{(cite(:\w+)?|term|admonition|figure|math|ref|numref|glossary|note|warning)\}|```\{|^:class:",
                      re.M)
SEED_CHECK = re.compile(r"^(```+|:::+)\{admonition\}\s*Seed check", re.M)
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
MATH = re.compile(r"\$\$|(?<![\\$])\$[^$\s][^$\n]*\$")

RENDERED_TEXT_JS = f"""() => {NB}.content.widgets.filter(c => c.model.type === 'markdown')
  .map(c => c.node.querySelector('{RENDERED}')?.innerText ?? '')"""
SEED_CHECKS_JS = f"""() => Array.from({NB}.node.querySelectorAll('.jp-MarkdownCell aside'))
  .filter(a => a.innerText.trim().startsWith('Seed check')).length"""
MATH_JS = f"() => {NB}.node.querySelectorAll('.jp-MarkdownCell .katex, .jp-MarkdownCell mjx-container').length"

# Console errors JupyterLab reports for every chapter that are not failures: jupyterlab-myst
# resolves {term} roles only inside the notebook, and the glossary is a separate page of the book.
FOREIGN_CONSOLE = ("Cross reference target was not found: term-",)


@pytest.fixture
def chapter(lab_page, request):
    """Open the chapter ``request.param`` in JupyterLab; shut its kernel down and close it after."""
    console: list[str] = []

    def listen(msg):
        if msg.type == "error" and not any(f in msg.text for f in FOREIGN_CONSOLE):
            console.append(msg.text[:300])

    def uncaught(exc):
        console.append(f"uncaught: {exc}")

    lab_page.on("console", listen)
    lab_page.on("pageerror", uncaught)
    nb = open_notebook(lab_page, request.param)
    nb.console = console
    try:
        yield nb
    finally:
        nb.close()
        lab_page.remove_listener("console", listen)
        lab_page.remove_listener("pageerror", uncaught)


def check_myst(nb: Notebook, source: nbformat.NotebookNode) -> None:
    counts = nb.wait_rendered()
    assert counts["cells"] > 0 and counts["myst"] == counts["cells"], (
        f"markdown cells rendered by jupyterlab-myst: {counts['myst']} of {counts['cells']}")
    markdown = [c.source for c in source.cells if c.cell_type == "markdown"]
    rendered = nb.page.evaluate(RENDERED_TEXT_JS)
    raw = sorted({m.group(0) for text in rendered for m in RAW_MYST.finditer(text)})
    assert raw == [], f"raw MyST markup shown in JupyterLab: {raw}"
    expected = sum(len(SEED_CHECK.findall(md)) for md in markdown)
    assert nb.page.evaluate(SEED_CHECKS_JS) == expected, "Seed-check callouts not all rendered as callouts"
    cited = [(i, m.group(1).split(",")[0].strip()) for i, md in enumerate(markdown) for m in CITE.finditer(md)]
    for i, key in cited[:5]:
        assert key in rendered[i], f"citation {key!r} not shown in markdown cell {i}"
    if any(MATH.search(md) for md in markdown):
        assert nb.page.evaluate(MATH_JS) > 0, "math in the source but no typeset math on the page"


def steps(w: Widget) -> str | None:
    """Click step: None if the view stays the same (the run has nothing left to do), else undo
    and check the view comes back exactly; returns that view."""
    start = w.settled()
    w.click("step")
    if w.settled() == start:
        return None
    w.click("undo")
    w.back_to(start)
    return start


def exercise_fault(w: Widget, start: str) -> None:
    """A fault button (crash, partition, drop...) changes the view and undo takes it back."""
    label = w.fault_label()
    assert label is not None, f"the player has no fault button among {w.labels()}"
    w.click(label)
    w.changed_from(start)
    w.click("undo")
    w.back_to(start)


def exercise_player(w: Widget, start: str) -> None:
    """A fault and its undo; play moves the view on and pause stops it."""
    exercise_fault(w, start)
    page = w.out.page
    play, pause = w.play_buttons()
    play.click()
    w.moving_from(start)
    pause.click()
    page.wait_for_function("b => !b.classList.contains('mod-active')", arg=play.element_handle())
    paused = w.settled()
    page.wait_for_timeout(1000)   # an observation window: a playing widget ticks several times in it
    assert w.settled() == paused, "the player kept moving after pause"


def exercise_lab(w: Widget) -> None:
    """Moving the lab's first control redraws it; moving it back restores the view exactly."""
    start = w.settled()
    kind, control = w.control()
    if kind == "select":
        first = control.evaluate("e => e.selectedIndex")
        count = control.evaluate("e => e.options.length")
        assert count > 1, "a dropdown with one option"
        control.select_option(index=(first + 1) % count)
        w.changed_from(start)
        control.select_option(index=first)
    elif kind == "checkbox":
        control.click()
        w.changed_from(start)
        control.click()
    else:   # a slider: one keyboard step on its handle, then its readout typed back
        handle, readout = control.locator(".noUi-handle").first, control.locator(".widget-readout").first
        value = readout.inner_text().strip()
        at_max = handle.evaluate("h => h.getAttribute('aria-valuenow') === h.getAttribute('aria-valuemax')")
        handle.focus()
        handle.press("ArrowLeft" if at_max else "ArrowRight")
        w.changed_from(start)
        readout.click()
        readout.press("Control+a")
        readout.type(value)
        readout.press("Enter")
    w.back_to(start)


@pytest.mark.parametrize("chapter", chapters(), indirect=True, ids=lambda p: Path(p).stem)
def test_chapter_renders_runs_and_its_main_widget_responds(chapter: Notebook) -> None:
    source = nbformat.read(ROOT / chapter.path, as_version=4)
    check_myst(chapter, source)
    ok = chapter.run_all()
    assert chapter.errors() == [] and ok, "a cell raised when the chapter ran in JupyterLab"
    assert chapter.widget_errors() == [], "a widget view failed to draw"
    widgets = [Widget(chapter, out) for out in chapter.widget_outputs()]
    assert widgets, "running the chapter showed no live widget"
    kinds = [w.kind for w in widgets]
    # The main widget: the first player whose run has something left to step through; else
    # the first lab; else the first player (its run over: a fault and its undo still show).
    players = [w for w, kind in zip(widgets, kinds, strict=True) if kind == "player"]
    for widget in players:
        start = steps(widget)
        if start is not None:
            exercise_player(widget, start)
            break
    else:
        if "lab" in kinds:
            exercise_lab(widgets[kinds.index("lab")])
        else:
            assert players, f"no player or lab among the chapter's widgets ({kinds})"
            exercise_fault(players[0], players[0].settled())
    assert chapter.widget_errors() == []
    assert chapter.console == [], "JupyterLab's console reported errors"


def test_notebook7_renders_the_myst_of_a_chapter(lab_server, chromium) -> None:
    """Notebook 7 (``/notebooks/...``) uses the same renderer: a callout and a citation."""
    def markdown(path: str) -> str:
        return "\n".join(c.source for c in nbformat.read(ROOT / path, as_version=4).cells if c.cell_type == "markdown")

    path = next(p for p in chapters() if SEED_CHECK.search(markdown(p)) and CITE.search(markdown(p)))
    page = chromium.new_page()
    try:
        page.goto(f"{lab_server.url}notebooks/{path}", wait_until="load")
        page.wait_for_selector(".jp-MarkdownCell .myst aside", timeout=120_000)
        text = "\n".join(page.locator(".jp-MarkdownCell .myst").all_inner_texts())
        assert "Seed check" in text
        assert not RAW_MYST.search(text), RAW_MYST.search(text)
        key = CITE.search(markdown(path)).group(1).split(",")[0].strip()
        assert key in text
    finally:
        page.close()
