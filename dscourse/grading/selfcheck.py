"""``ds.grading.check("E1.1")`` and ``ds.grading.summary()``: self-checks in the student's kernel.

``check`` runs the public tests registered by the notebook's test cells against the
student's definitions in the notebook's ``__main__`` namespace, and prints one line per test
with a friendly message, the failing seed, and (for protocol exercises, when ``ds.viz`` can
draw) a space-time diagram of the failing run. It never claims that *all* tests passed:
hidden tests exist only in the instructor's master and run at grading time. A stub that
still raises ``NotImplementedError`` gets a one-line "not implemented yet", not a traceback.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

from ..checkers.trial import sharing_runs
from ..errors import allowed
from . import rules
from .cells import ANSWER
from .registry import EXERCISE_ID, Outcome, registered, run_test

MARK = {"passed": "✓", "failed": "✗", "not_implemented": "·", "error": "✗"}


@dataclass(frozen=True)
class CheckResult:
    """What the last ``check`` of an exercise found (kept for :func:`summary`)."""

    exercise: str
    passed: int
    total: int
    points: int
    max_points: int
    implemented: bool


_RESULTS: dict[str, CheckResult] = {}
_FAILING: dict[str, Outcome] = {}   # exercise -> the failing outcome (with its trace) of its last check


def _namespace() -> dict[str, Any]:
    main = sys.modules.get("__main__")
    return vars(main) if main is not None else {}


def check(exercise: str) -> None:
    """Run the public tests of ``exercise`` on this notebook's definitions and print the results."""
    if not isinstance(exercise, str) or not EXERCISE_ID.match(exercise):
        raise allowed("exercise", exercise, "an id like 'E1.1'")
    cases = [c for c in registered(exercise) if not c.hidden]
    if not cases:
        print(f"{exercise}: no public tests are loaded. Run the test cells of {exercise} above "
              "(they define the tests), then run this check again.")
        return
    ns = _namespace()
    if not _answer_cell_ok(exercise, ns):
        _RESULTS[exercise] = CheckResult(exercise, 0, len(cases), 0, sum(c.points for c in cases), True)
        return
    bindings = {name: ns[name] for c in cases for name in c.names if name in ns}
    with sharing_runs():              # the definitions cannot change during one check()
        outcomes = [run_test(c, bindings) for c in cases]
    implemented = not all(o.status == "not_implemented" for o in outcomes)
    passed = sum(o.status == "passed" for o in outcomes)
    points = sum(o.score for o in outcomes)
    max_points = sum(c.points for c in cases)
    _RESULTS[exercise] = CheckResult(exercise, passed, len(cases), points, max_points, implemented)
    names = list(dict.fromkeys(n for c in cases for n in c.names))
    if not implemented:
        said = [o.message.removeprefix("not implemented yet: ").removeprefix(f"{exercise}: ")
                for o in outcomes if o.message.startswith("not implemented yet: ")]
        # every stub of the exercise's definitions, not only the first one each test ran into
        todo = _todo(list(dict.fromkeys(stubs(exercise, names, ns) + sorted(set(said)))))
        todo = todo or "write " + ", ".join(sorted(names))
        print(f"{exercise} is not implemented yet: {todo}. Replace the lines that raise "
              "NotImplementedError in the answer cell, run that cell, then run this check again.")
        return
    print(f"{exercise}: {passed} of {len(cases)} public tests passed "
          f"({points} of {max_points} public points).")
    for o in outcomes:
        print(f"  {MARK[o.status]} {o.case.title} [{o.case.points} pt{'s' if o.case.points != 1 else ''}]")
        if o.status != "passed":
            seed = f" (seed {o.seed})" if o.seed is not None else ""
            print(f"      {o.message}{seed}")
    print("Hidden tests run only when your instructor grades the notebook, with other seeds: "
          "passing the public tests does not guarantee full marks.")
    failing = next((o for o in outcomes if o.status == "failed" and o.trace is not None), None)
    _FAILING.pop(exercise, None)
    if failing is not None:
        _FAILING[exercise] = failing
        print(f"Replay the failing run (seed {failing.seed}) step by step: "
              f"ds.grading.replay({exercise!r})")
        _diagram(failing)


def stubs(exercise: str, names: list[str], ns: dict[str, Any]) -> list[str]:
    """What each stub among the definitions ``names`` in ``ns`` says to write, in source order:
    a function, or a method of a class (its own or inherited from the answer's classes), whose
    body raises ``NotImplementedError`` outright. The stub's own message (without the
    ``"E1.1: "`` prefix), else ``"write Class.method()"``."""
    found: list[str] = []
    for name in names:
        obj = ns.get(name)
        if inspect.isclass(obj):
            seen: set[str] = set()
            for klass in obj.__mro__:
                if klass.__module__ != obj.__module__:
                    continue                          # ds.sim.Node and other library classes
                for attr, fn in vars(klass).items():
                    if inspect.isfunction(fn) and attr not in seen:
                        seen.add(attr)
                        said = _stub_says(fn)
                        if said is not None:
                            found.append(said or f"write {obj.__name__}.{attr}()")
        elif inspect.isfunction(obj):
            said = _stub_says(obj)
            if said is not None:
                found.append(said or f"write {name}()")
    return [m.removeprefix(f"{exercise}: ") for m in found]


def _stub_says(fn: Any) -> str | None:
    """The message of the ``raise NotImplementedError(...)`` at the top level of ``fn``'s body
    ("" without a str message), or None if ``fn`` is not a stub (or its source is unknown)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    for stmt in node.body:
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                args = stmt.exc.args if isinstance(stmt.exc, ast.Call) else []
                if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                    return args[0].value
                return ""
    return None


def _todo(said: list[str]) -> str:
    """``said`` in one phrase: "write A(), B() and C() (see the exercise text above)" when
    every item is "write X" with the same parenthesis, else the items joined by "; "."""
    if len(said) < 2 or not all(m.startswith("write ") for m in said):
        return "; ".join(said)
    tail = said[0][said[0].rfind(" ("):] if said[0].endswith(")") and " (" in said[0] else ""
    if not tail or not all(m.endswith(tail) for m in said):
        return "; ".join(said)
    items = [m.removeprefix("write ").removesuffix(tail) for m in said]
    return f"write {', '.join(items[:-1])} and {items[-1]}{tail}"


def _answer_source(exercise: str, ns: dict[str, Any]) -> str | None:
    """The answer cell of ``exercise`` as it was last run in this kernel (IPython's ``In``)."""
    history = ns.get("In")
    if type(history) is not list:
        return None
    for src in reversed(history):
        if type(src) is str:
            m = ANSWER.match(src.split("\n", 1)[0])
            if m and m.group(1) == exercise:
                return src
    return None


def _cell_error(src: str, ns: dict[str, Any]) -> str | None:
    """``"ValueError: ... (line 3)"`` if the last error IPython showed was raised by this cell's
    code (not a stub's NotImplementedError), else None."""
    exc = getattr(sys, "last_value", None)
    if exc is None or isinstance(exc, NotImplementedError):
        return None
    try:
        from IPython import get_ipython

        ip = get_ipython()
        # the history keeps a cell without its last newline; the compiler named it with it
        names = {ip.compile.get_code_name(text, text, n) for n, old in enumerate(ns.get("In", []))
                 if old == src for text in (src, src + "\n")} if ip is not None else set()
    except Exception:  # noqa: BLE001 - no IPython, or another IPython: say nothing rather than guess
        return None
    tb = exc.__traceback__
    while tb is not None and any(part in tb.tb_frame.f_code.co_filename
                                 for part in ("/IPython/", "/ipykernel/")):
        tb = tb.tb_next                     # IPython's own frames, down to the cell that ran
    if tb is None or tb.tb_frame.f_code.co_filename not in names:
        return None                         # another cell raised (perhaps calling this one's code)
    line = tb.tb_lineno
    while tb.tb_next is not None and tb.tb_next.tb_frame.f_code.co_filename in names:
        tb = tb.tb_next
        line = tb.tb_lineno
    return f"{type(exc).__name__}: {str(exc)[:200]} (line {line})"


def _answer_cell_ok(exercise: str, ns: dict[str, Any]) -> bool:
    """Say why the answer cell cannot be checked, if it cannot: it does not parse, it raised
    when it ran, or (a protocol node) it uses randomness or time outside the simulation."""
    src = _answer_source(exercise, ns)
    if src is None:
        return True
    fix = "Fix it, run the cell again, then run this check again."
    found = rules.syntax_error(src)
    if found is not None:
        print(f"{exercise}: the answer cell failed to run: SyntaxError on line {found[0]} "
              f"({found[1]}), so the tests would check an older definition. {fix}")
        return False
    error = _cell_error(src, ns)
    if error is not None:
        print(f"{exercise}: the answer cell failed to run: {error}. {fix}")
        return False
    if rules.is_protocol(src):
        broken = rules.breaches(src)
        if broken:
            for b in broken:
                print(f"{exercise} is invalid: {b.message(exercise)}.")
            print("The grader gives an answer that breaks this rule 0 points for the exercise "
                  "(every failure must replay from its seed). " + fix)
            return False
    return True


def replay(exercise: str, view: str = "both", *, test: str | None = None, seed: int | None = None,
           keep: list[int] | None = None) -> Any:
    """The trace player (:func:`dscourse.viz.replay`) of a failing run of ``exercise``.

    Without ``seed``: the run in which the last :func:`check` found a failure. With ``seed``
    (the line the grader's feedback prints): public test ``test`` is run again on that seed,
    with only the nemesis actions numbered in ``keep`` (all of them if None), and that run
    is shown: the shrunk counterexample, replayed in your own kernel."""
    if not isinstance(exercise, str) or not EXERCISE_ID.match(exercise):
        raise allowed("exercise", exercise, "an id like 'E1.1'")
    from .. import viz

    if seed is None:
        if exercise not in _FAILING:
            raise allowed("exercise", exercise, "an exercise whose last check(...) in this notebook found "
                          f"a failing run with a trace (now: {', '.join(sorted(_FAILING)) or 'none'})")
        return viz.replay(_FAILING[exercise].trace, view=view)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise allowed("seed", seed, "an int (the seed the feedback names)")
    if keep is not None and (not isinstance(keep, (list, tuple))
                             or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in keep)):
        raise allowed("keep", keep, "a list of nemesis action numbers (ints >= 0), or None for all")
    cases = {c.name: c for c in registered(exercise) if not c.hidden}
    if test not in cases:
        raise allowed("test", test, f"one of the public tests of {exercise} loaded here "
                      f"({', '.join(sorted(cases)) or 'none: run the test cells first'})")
    from .shrink import rerun

    ns = _namespace()
    case = cases[test]
    bindings = {name: ns[name] for name in case.names if name in ns}
    outcome, _ = rerun(case, bindings, seed, None if keep is None else frozenset(keep))
    if outcome.trace is None:
        raise allowed("seed", seed, f"a seed on which {test} fails with a trace here (it "
                      f"{'passes' if outcome.status == 'passed' else 'has no trace'} with your "
                      "current definitions)")
    return viz.replay(outcome.trace, view=view)


def _diagram(outcome: Outcome) -> None:
    """Show a space-time diagram of the failing run, if ``ds.viz`` can draw one here."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        from .. import viz
    except ImportError:
        return
    if get_ipython() is None or not hasattr(viz, "spacetime") or not len(outcome.trace):
        return
    window = None
    if outcome.at is not None:
        window = (max(0.0, outcome.at - 60.0), outcome.at + 10.0)
    title = f"{outcome.case.exercise}, seed {outcome.seed}: the failing run"
    display(viz.spacetime(outcome.trace, window=window, title=title))


def summary() -> None:
    """Print a table of this notebook's checks so far (every chapter notebook ends with it)."""
    if not _RESULTS:
        print("No exercise checked in this notebook yet: run its ds.grading.check(...) cells.")
        return
    print(f"{'Exercise':<10}{'Public tests':<14}{'Public points':<15}Status")
    for ex in sorted(_RESULTS, key=lambda e: tuple(int(x) for x in e[1:].split("."))):
        r = _RESULTS[ex]
        status = ("not implemented" if not r.implemented else
                  "public tests pass" if r.passed == r.total else "needs work")
        print(f"{ex:<10}{f'{r.passed}/{r.total}':<14}{f'{r.points}/{r.max_points}':<15}{status}")
    print("Hidden tests run when your instructor grades the notebook.")
