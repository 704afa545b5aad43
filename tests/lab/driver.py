"""Driving JupyterLab from Playwright: open a notebook, run every cell, read what it shows.

JupyterLab is started with ``expose_app_in_browser``, so the page has ``window.jupyterapp``
and the test uses Lab's own commands (``docmanager:open``, ``notebook:run-all-cells``) and
reads the notebook model (outputs, kernel status) instead of guessing from pixels. Every
wait is on a condition (kernel idle, no widget still loading, the shown state changed);
none is a fixed sleep.

Widgets are found by role, not by text: a *player* is a widget output with ``step`` and
``undo`` buttons (``ds.viz.Player`` and everything built on it); any other widget output
with a slider or a dropdown is a *lab* (``ds.viz.Lab`` and the chapters' own panels).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

# What a widget output shows that the kernel drew: its HTML texts (a player's status line, a
# lab's summary), its list boxes (a debugger's pending events) and a digest of each image's
# bytes (an ipywidgets Image is a fresh blob: URL on every redraw, even of the same PNG).
# Control readouts are left out: they move in the browser before the kernel has answered.
SHOWN_JS = """async o => {
  const html = Array.from(o.querySelectorAll('.widget-html-content')).map(e => e.innerText.trim());
  const lists = Array.from(o.querySelectorAll('select[size]')).filter(s => s.size > 1)
    .map(s => Array.from(s.options).map(x => x.text).join(' / '));
  const images = await Promise.all(Array.from(o.querySelectorAll('img')).map(async i => {
    const bytes = await (await fetch(i.src)).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return Array.from(digest.slice(0, 8)).map(b => b.toString(16).padStart(2, '0')).join('');
  }));
  return JSON.stringify({html, lists, images});
}"""

# The open notebook panel, kept on window by ``open``.
NB = "window.__dscourse_nb"

OPEN_JS = """async (path) => {
  const w = await jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  window.__dscourse_nb = w;
  await w.context.ready;
  await w.sessionContext.ready;
  jupyterapp.shell.activateById(w.id);
  return w.id;
}"""

KERNEL_IDLE_JS = f"""() => {{ const k = {NB}.sessionContext.session?.kernel;
  return !!k && k.status === 'idle' && k.connectionStatus === 'connected'; }}"""

# A silent, empty execute request: the kernel handles shell messages in order, so its reply
# means every widget message sent before it (a click, a play tick) has been handled.
DRAIN_JS = f"""async () => {{ await {NB}.sessionContext.session.kernel
  .requestExecute({{code: '', silent: true, store_history: false}}).done; }}"""

RUN_ALL_JS = f"""async () => {{
  jupyterapp.shell.activateById({NB}.id);
  return await jupyterapp.commands.execute('notebook:run-all-cells');
}}"""

# Markdown cells that are rendered: by jupyterlab-myst (a ``.myst`` view in the input area)
# or by JupyterLab's own renderer (``.jp-MarkdownOutput``).
RENDERED = ".jp-InputArea > .myst, .jp-MarkdownOutput"
MARKDOWN_JS = f"""() => {{
  const cells = {NB}.content.widgets.filter(c => c.model.type === 'markdown');
  return {{cells: cells.length,
          rendered: cells.filter(c => c.rendered && c.node.querySelector('{RENDERED}')).length,
          myst: cells.filter(c => c.node.querySelector('.jp-InputArea > .myst')).length}};
}}"""

# Every output of every code cell, from the model (what the kernel sent, not what is drawn).
OUTPUTS_JS = f"""() => {NB}.content.widgets.filter(c => c.model.type === 'code').map((c, i) => ({{
  index: {NB}.content.widgets.indexOf(c),
  source: c.model.sharedModel.getSource(),
  count: c.model.executionCount,
  outputs: c.model.outputs.toJSON()}}))"""

# Widget views that failed to draw (ipywidgets' own error texts and error widget).
WIDGET_ERRORS_JS = f"""() => Array.from({NB}.node.querySelectorAll('.jp-OutputArea-output'))
  .filter(o => o.querySelector('.jupyter-widgets-error-widget')
          || /^(Error displaying widget|Loading widget\\.\\.\\.)/.test(o.textContent.trim()))
  .map(o => o.textContent.trim().slice(0, 200))"""

# No widget view is still loading, and if the kernel sent any, one has been drawn (or failed visibly).
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
DRAWN_JS = f"""() => {{
  const sent = {NB}.content.widgets.filter(c => c.model.type === 'code')
    .flatMap(c => c.model.outputs.toJSON()).filter(o => o.data && o.data['{WIDGET_MIME}']).length;
  const areas = Array.from({NB}.node.querySelectorAll('.jp-OutputArea-output'));
  const drawn = areas.filter(o => o.querySelector('.jupyter-widgets')
    || o.textContent.trim().startsWith('Error displaying widget')).length;
  const loading = areas.some(o => o.textContent.trim().startsWith('Loading widget...'));
  return !loading && drawn >= Math.min(sent, 1);
}}"""

CLOSE_JS = f"""async () => {{ const w = {NB};
  if (!w) return; window.__dscourse_nb = null;
  await w.sessionContext.shutdown(); w.dispose(); }}"""

FAULTS = re.compile(r"crash|stop|isolate|partition|pause|kill|drop|fail|expire|time ?out|cut|lose", re.I)


@dataclass
class Notebook:
    """One chapter open in JupyterLab (in ``page``), with the console errors it caused."""

    page: Any
    path: str
    console: list[str] = field(default_factory=list)

    def wait_idle(self, timeout_ms: float = 120_000) -> None:
        self.page.wait_for_function(KERNEL_IDLE_JS, timeout=timeout_ms)

    def drain(self) -> None:
        """Return once the kernel has handled every message the page sent it so far."""
        self.page.evaluate(DRAIN_JS)
        self.wait_idle()

    def markdown(self) -> dict[str, int]:
        return self.page.evaluate(MARKDOWN_JS)

    def wait_rendered(self, timeout_ms: float = 60_000) -> dict[str, int]:
        self.page.wait_for_function(f"() => ({MARKDOWN_JS})().rendered === ({MARKDOWN_JS})().cells",
                                    timeout=timeout_ms)
        return self.markdown()

    def run_all(self, timeout_ms: float = 900_000) -> bool:
        """Run every cell (Lab's own command); True when no cell raised. Then wait until the
        kernel is idle and no widget view is still loading."""
        self.page.set_default_timeout(timeout_ms)
        try:
            ok = bool(self.page.evaluate(RUN_ALL_JS))
        finally:
            self.page.set_default_timeout(30_000)
        self.wait_idle()
        self.page.wait_for_function(DRAWN_JS, timeout=120_000)
        return ok

    def outputs(self) -> list[dict[str, Any]]:
        return self.page.evaluate(OUTPUTS_JS)

    def errors(self) -> list[str]:
        """Error outputs (exceptions) of any cell, and cells the run never reached."""
        found = []
        for cell in self.outputs():
            for out in cell["outputs"]:
                if out["output_type"] == "error":
                    found.append(f"cell {cell['index']}: {out['ename']}: {out['evalue']}")
            if cell["source"].strip() and cell["count"] is None:
                found.append(f"cell {cell['index']} did not run")
        return found

    def widget_errors(self) -> list[str]:
        return self.page.evaluate(WIDGET_ERRORS_JS)

    def widget_outputs(self) -> list[Any]:
        """Output areas holding a live widget view, in notebook order."""
        return self.page.locator(".jp-Notebook .jp-OutputArea-output:has(.jupyter-widgets)").all()

    def close(self) -> None:
        self.page.evaluate(CLOSE_JS)


def open_notebook(page: Any, path: str) -> Notebook:
    nb = Notebook(page, path)
    page.evaluate(OPEN_JS, path)
    nb.wait_idle()
    return nb


@dataclass
class Widget:
    """One live widget output and the notebook it lives in."""

    nb: Notebook
    out: Any

    def shown(self) -> str:
        return self.out.evaluate(SHOWN_JS)

    def button(self, label: str) -> Any:
        return self.out.locator("button.jupyter-button").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))

    def labels(self) -> list[str]:
        return [b.strip() for b in self.out.locator("button.jupyter-button").all_inner_texts()]

    @property
    def kind(self) -> str:
        labels = self.labels()
        if "step" in labels and "undo" in labels:
            return "player"
        if self.out.locator("select, .widget-slider, .jupyter-widget-slider, input[type=checkbox]").count():
            return "lab"
        return "other"

    def _wait(self, differs: bool, value: str, timeout_s: float = 90, settle: bool = True) -> str:
        """Poll until what the widget shows differs from (or equals) ``value``, then wait for
        the kernel to be idle; return what it shows then. (Polled from Python because the
        image digests are computed asynchronously in the page.)"""
        deadline = time.monotonic() + timeout_s
        now = self.shown()
        while (now == value) == differs:
            if time.monotonic() > deadline:
                raise AssertionError(f"the widget still shows {'the same' if differs else 'something else'} "
                                     f"after {timeout_s:.0f} s:\n  expected {'not ' if differs else ''}{value}\n"
                                     f"  shown {now}")
            self.out.page.wait_for_timeout(100)
            now = self.shown()
        return self.settled() if settle else now

    def changed_from(self, before: str) -> str:
        return self._wait(True, before)

    def moving_from(self, before: str) -> str:
        """Wait until the view differs from ``before``, without waiting for it to settle (a
        playing player never does)."""
        return self._wait(True, before, settle=False)

    def back_to(self, before: str) -> str:
        return self._wait(False, before)

    def settled(self) -> str:
        """What it shows once the kernel has handled everything sent to it (and the page has
        drawn the replies: two reads around a second round trip agree)."""
        self.nb.drain()
        now = self.shown()
        for _ in range(20):
            self.nb.drain()
            again = self.shown()
            if again == now:
                return now
            now = again
        raise AssertionError(f"the widget never settled: it still changes ({now})")

    def click(self, label: str) -> None:
        self.button(label).first.click()

    def play_buttons(self) -> tuple[Any, Any]:
        play = self.out.locator("button.jupyter-button:has(.fa-play)").first
        pause = self.out.locator("button.jupyter-button:has(.fa-pause)").first
        return play, pause

    def fault_label(self) -> str | None:
        """An action button that injects a fault (crash, partition, drop...), if the widget has one."""
        for label in self.labels():
            if label not in ("step", "undo", "reset") and FAULTS.search(label):
                return label
        return None

    def control(self) -> tuple[str, Any]:
        """The lab control to move: its first dropdown or checkbox (they restore exactly), else
        its first slider (its container: the handle moves it, the readout sets it back)."""
        for kind, css in (("select", "select:not([size])"), ("checkbox", "input[type=checkbox]"),
                          ("slider", ".widget-hslider, .widget-vslider")):
            found = self.out.locator(css)
            if found.count():
                return kind, found.first
        raise AssertionError("the lab has no dropdown, checkbox or slider")
