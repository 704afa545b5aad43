"""What a batch shows people: the progress of grading, per-student HTML feedback (with the
counterexamples' space-time diagrams) and a class summary for the instructor.

:class:`Progress` draws a ``rich`` progress bar (ETA, the submissions being graded) when
stderr is a terminal, and writes one plain line per finished submission otherwise (CI logs
get lines, not ``\\r`` frames). The HTML pages are self-contained (diagrams inlined as
``data:`` images, so a page can be mailed or uploaded alone) and escape every text that came
from a submission or a file name.
"""

from __future__ import annotations

import base64
import html
import sys
import time
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .grader import Master, Result

STYLE = """<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.passed{color:#17663a}.failed{color:#a11}pre{background:#f6f6f6;padding:.5rem;overflow-x:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
img{max-width:100%;border:1px solid #eee}
</style>"""


class Progress:
    """Progress of a batch on ``stream`` (default stderr); see the module docstring."""

    def __init__(self, total: int, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total, self.n = total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.started = time.monotonic()
        self.running: list[str] = []
        self._bar: Any = None
        self._task: Any = None
        if self.enabled and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            TextColumn("{task.description}"),
                            console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("", total=total)

    def start(self, name: str) -> None:
        """A submission's grading began."""
        self.running.append(name)
        self._describe()

    def tick(self, name: str, result: Result | None = None, max_points: int | None = None) -> None:
        """A submission's grading ended (``result``: its row)."""
        self.n += 1
        if name in self.running:
            self.running.remove(name)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=1)
            self._describe()
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.n * (self.total - self.n)
        what = f"{result.status} {result.total}/{max_points}" if result is not None else "done"
        self.stream.write(f"graded {self.n}/{self.total}: {_printable(name)} ({what}); "
                          f"elapsed {_duration(elapsed)}, ETA {_duration(eta)}\n")
        self.stream.flush()

    def _describe(self) -> None:
        if self._bar is not None:
            shown = ", ".join(_printable(n) for n in self.running[:3])
            self._bar.update(self._task, description=shown + (" ..." if len(self.running) > 3 else ""))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name)[:60]


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'


# ---- per-student feedback -------------------------------------------------------------------------


def feedback_html(result: Result, master: Master) -> str:
    """The student's feedback as a page: the same content as ``feedback.md`` (public messages,
    hidden tests as counts) with each counterexample's diagram drawn inline."""
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>Feedback: {e(result.student)}, {e(master.exercise_set)}</title>{STYLE}</head><body>",
           f"<h1>Feedback for {e(result.student)}: {e(master.exercise_set)}</h1>",
           f"<p>Score: <b>{result.total} / {master.total_max}</b> (status: {e(result.status)})</p>"]
    if result.status == "invalid":
        out.append(f"<p>Your notebook could not be graded: {e(result.reason)}</p>")
    if result.notes:
        out.append("<ul>" + "".join(f"<li>Note: {e(n)}</li>" for n in result.notes) + "</ul>")
    for ex in master.exercises:
        mine = [o for o in result.outcomes if o.case.exercise == ex]
        if not mine:
            continue
        out.append(f"<h2>{e(ex)}: {result.scores.get(ex, 0)} / {master.max_points(ex)}</h2><ul>")
        for o in mine:
            if o.case.hidden:
                continue
            mark = "passed" if o.status == "passed" else "failed"
            out.append(f"<li><span class='{mark}'>{mark}</span>: {e(o.case.title)} "
                       f"({o.score}/{o.case.points})")
            if o.status != "passed":
                seed = f" (seed {o.seed})" if o.seed is not None else ""
                out.append(f"<br>{e(o.message)}{seed}")
                cx = next((c for c in result.counterexamples
                           if c["exercise"] == ex and c["test"] == o.case.name), None)
                if cx is not None:
                    head, *schedule, replay = cx["lines"]
                    out.append(f"<p>{e(head)}</p><pre>{e(chr(10).join(s.strip() for s in schedule))}</pre>"
                               f"<p>{e(replay.split(': ', 1)[0])}:</p><pre>{e(cx['replay'])}</pre>")
                    if cx["svg"]:
                        out.append(_img(cx["svg"], f"space-time diagram of {ex} {o.case.name}"))
            out.append("</li>")
        hidden = [o for o in mine if o.case.hidden]
        if hidden:
            ok = sum(o.status == "passed" for o in hidden)
            out.append(f"<li>hidden tests: {ok} of {len(hidden)} passed "
                       f"({sum(o.score for o in hidden)}/{sum(o.case.points for o in hidden)} points)</li>")
        out.append("</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)


# ---- the class summary ----------------------------------------------------------------------------


def histogram_svg(scores: list[int], top: int, title: str) -> str:
    """A bar chart of how many submissions got each score from 0 to ``top`` (SVG text).

    Written directly, not drawn with matplotlib: importing and laying out matplotlib took
    about 4 s of the batch's serial tail for a handful of rectangles. Each bar is a ``rect``
    with a ``data-points`` and a ``data-count`` attribute (what it shows, for tests and
    screen readers' tooltips)."""
    e = html.escape
    counts = Counter(scores)
    width, height, left, right, bottom, head = 480, 220, 48, 12, 40, 26
    plot_w, plot_h = width - left - right, height - bottom - head
    peak = max(counts.values(), default=0)
    tick = max(1, -(-peak // 4))                      # whole submissions, at most 4 steps
    y_top = tick * max(1, -(-peak // tick))
    step = plot_w / (top + 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<title>{e(title)}: submissions per score</title>',
           f'<text x="{left + plot_w / 2:.1f}" y="16" text-anchor="middle" font-size="13">{e(title)}</text>']
    base = head + plot_h
    for t in range(0, y_top + 1, tick):               # evenly spaced integer gridlines
        y = base - plot_h * t / y_top
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{t}</text>')
    label_every = 1 if top <= 20 else max(1, top // 10)
    for x in range(top + 1):
        n = counts.get(x, 0)
        h = plot_h * n / y_top
        bx = left + x * step + step * 0.1
        out.append(f'<rect data-points="{x}" data-count="{n}" x="{bx:.1f}" y="{base - h:.1f}" '
                   f'width="{step * 0.8:.1f}" height="{h:.1f}" fill="#4c72b0">'
                   f'<title>{x} points: {n}</title></rect>')
        if x % label_every == 0:
            out.append(f'<text x="{bx + step * 0.4:.1f}" y="{base + 14}" text-anchor="middle">{x}</text>')
    out += [f'<line x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}" stroke="#333"/>',
            f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">points</text>',
            f'<text transform="translate(12 {head + plot_h / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">submissions</text>', "</svg>"]
    return "\n".join(out)


def failing_properties(results: list[Result]) -> Counter[tuple[str, str]]:
    """How many submissions failed each test, by ``(exercise, property)``: the property is
    the text before the first colon of a failure message (``Election Safety``), or the test's
    title when the message has none. Hidden tests count too (the page is the instructor's)."""
    from .shrink import prop

    seen: Counter[tuple[str, str]] = Counter()
    for r in results:
        mine = set()
        for o in r.outcomes:
            if o.status == "failed":
                name = prop(o.message) if ":" in o.message else o.case.title
                mine.add((o.case.exercise, f"{o.case.title} — {name}"[:160]))
        seen.update(mine)
    return seen


def class_summary_html(results: list[Result], master: Master) -> str:
    """The instructor's page beside the gradebook: statuses, a score histogram per exercise
    and in all, and the most common failing properties."""
    e = html.escape
    graded = [r for r in results if r.status != "invalid"]
    statuses = Counter(r.status for r in results)
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>Class summary: {e(master.exercise_set)}</title>{STYLE}</head><body>",
           f"<h1>Class summary: {e(master.exercise_set)}</h1>",
           f"<p>{len(results)} file(s): " + ", ".join(f"{n} {e(s)}" for s, n in sorted(statuses.items()))
           + f". Histograms count the {len(graded)} submission(s) that were not invalid.</p>"]
    if graded:
        mean = sum(r.total for r in graded) / len(graded)
        out.append(f"<p>Mean total {mean:.1f} of {master.total_max}.</p>")
        out.append(_img(histogram_svg([r.total for r in graded], master.total_max, "total"), "total"))
        for ex in master.exercises:
            out.append(_img(histogram_svg([r.scores.get(ex, 0) for r in graded], master.max_points(ex), ex),
                            f"histogram of {ex}"))
    common = failing_properties(results).most_common(10)
    out.append("<h2>Most common failing properties</h2>")
    if common:
        out.append("<table><tr><th>exercise</th><th>test — property</th><th>submissions</th></tr>")
        out += [f"<tr><td>{e(ex)}</td><td>{e(p)}</td><td>{n}</td></tr>" for (ex, p), n in common]
        out.append("</table>")
    else:
        out.append("<p>No test failed.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)
