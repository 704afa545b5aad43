"""Progress lines and bars, per-student HTML feedback and the class summary page."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from gradekit import MASTER

from dscourse.grading import grader, report
from dscourse.grading.registry import Outcome


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _result(student, scores, failing=()):
    master = grader.load_master(MASTER)
    r = grader.Result(student, "graded", scores=dict(scores))
    for cases in master.exercises.values():
        for c in cases:
            failed = c.name in failing
            r.outcomes.append(Outcome(c, "failed" if failed else "passed",
                                      "Exactly once: <script>alert(1)</script> delivered twice" if failed else "",
                                      3 if failed else None))
    return r, master


def test_progress_writes_plain_lines_when_stderr_is_not_a_terminal():
    out = io.StringIO()
    r, master = _result("alice", {"E1.1": 7})
    bar = report.Progress(2, True, out)
    bar.start("alice")
    bar.start("bob")
    bar.tick("alice", r, master.total_max)
    bar.tick("bob", None, master.total_max)
    bar.close()
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"graded 1/2: alice (graded 7/{master.total_max}); elapsed ") and "ETA" in lines[0]
    assert lines[1].startswith("graded 2/2: bob (done)")


def test_progress_draws_a_bar_on_a_terminal_and_nothing_when_disabled():
    tty = Terminal()
    bar = report.Progress(3, True, tty)
    for name in ("a", "b", "c"):
        bar.start(name)
        bar.tick(name)
    bar.close()
    assert "3/3" in tty.getvalue() and "ETA" in tty.getvalue()
    quiet = io.StringIO()
    bar = report.Progress(3, False, quiet)
    bar.tick("a")
    bar.close()
    assert quiet.getvalue() == ""


def test_feedback_html_escapes_what_a_submission_wrote_and_inlines_the_diagram():
    master = grader.load_master(MASTER)
    case = next(c for c in master.exercises["E1.1"] if not c.hidden)
    r, master = _result("alice", {"E1.1": 0}, failing=(case.name,))
    r.counterexamples.append({"exercise": "E1.1", "test": case.name, "seed": 3, "original": ["1 ms: heal"],
                              "keep": [], "message": "m", "at": 5.0, "svg": "<svg></svg>",
                              "lines": ["counterexample: seed 3 ...", "    (no faults at all)",
                                        "replay it: ds.grading.replay(...)"],
                              "replay": 'ds.grading.replay("E1.1", test="t", seed=3, keep=[])'})
    page = report.feedback_html(r, master)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("data:image/svg+xml;base64,") == 1
    assert "ds.grading.replay(&quot;E1.1&quot;" in page
    hidden = [o for o in r.outcomes if o.case.hidden]
    assert all(o.case.title not in page for o in hidden)          # hidden tests: counts only
    assert "hidden tests:" in page


def test_the_class_summary_has_a_histogram_per_exercise_and_the_common_failures():
    master = grader.load_master(MASTER)
    e11 = next(c for c in master.exercises["E1.1"] if not c.hidden)
    results = [_result(s, {"E1.1": p}, failing=(e11.name,) if p == 0 else ())[0]
               for s, p in (("a", 0), ("b", 0), ("c", 7))]
    results.append(grader.Result("d.txt", "invalid", "not a notebook", {"E1.1": 0}))
    page = report.class_summary_html(results, master)
    assert page.count("data:image/svg+xml;base64,") == 1 + len(master.exercises)
    assert "3 graded" in page and "1 invalid" in page
    row = f"<tr><td>E1.1</td><td>{e11.title} — Exactly once</td><td>2</td></tr>"
    assert row in page
    counts = report.failing_properties(results)
    assert counts.most_common(1)[0] == (("E1.1", f"{e11.title} — Exactly once"), 2)


@pytest.mark.parametrize("scores,top", [([0, 0, 7, 3, 7, 7], 7), ([], 5), ([40] * 3 + [0], 40)])
def test_a_histogram_draws_one_bar_per_score_as_tall_as_its_count(scores, top):

    svg = report.histogram_svg(scores, top, "E1.<1>")
    root = ET.fromstring(svg)                                   # well-formed, title escaped
    bars = [el for el in root.iter() if el.tag.endswith("rect")]
    assert [int(b.get("data-points")) for b in bars] == list(range(top + 1))
    assert [int(b.get("data-count")) for b in bars] == [scores.count(x) for x in range(top + 1)]
    heights = [float(b.get("height")) for b in bars]
    peak = max(scores.count(x) for x in range(top + 1))
    for b, h in zip(bars, heights, strict=True):
        n = int(b.get("data-count"))
        assert (h == 0) == (n == 0)
        if peak:
            assert abs(h - max(heights) * n / peak) < 0.2          # proportional to the count
    assert "E1.&lt;1&gt;" in svg and re.search(r">submissions<", svg)
