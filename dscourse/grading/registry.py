"""Tests of graded exercises: the ``@ds.grading.test`` decorator, its context and outcomes.

A test cell defines one or more functions decorated with
``@ds.grading.test("E1.1", points=2)`` (public) or ``...(points=3, hidden=True)`` (hidden).
The first parameter is the test context ``t``; every further parameter names a definition
from the student's answer cells (``ReliableChannel``), looked up when the test runs: in the
student's kernel it is the student's own object, in the batch grader a proxy to the sandbox.
A test passes when it returns; ``t.fail(...)`` / ``t.expect(trial)`` / a plain ``assert``
fail it.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed

EXERCISE_ID = re.compile(r"^E\d+\.\d+$")


@dataclass(frozen=True)
class TestCase:
    """One registered test: ``names`` are the student definitions it needs."""

    exercise: str
    name: str
    points: int
    hidden: bool
    func: Callable[..., Any] = field(repr=False, compare=False)
    names: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The docstring's first line, or the function name with spaces."""
        doc = (self.func.__doc__ or "").strip().splitlines()
        return doc[0].strip() if doc else self.name.replace("_", " ")


_REGISTRY: dict[str, dict[str, TestCase]] = {}
_COLLECTORS: list[list[TestCase]] = []


def test(exercise: str, *, points: int, hidden: bool = False) -> Callable[[Callable], Callable]:
    """Declare a test of ``exercise`` worth ``points`` (see the module docstring)."""
    if not isinstance(exercise, str) or not EXERCISE_ID.match(exercise):
        raise allowed("exercise", exercise, "an id like 'E1.1'")
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= 100:
        raise allowed("points", points, "an int in 1..100")
    if not isinstance(hidden, bool):
        raise allowed("hidden", hidden, "True or False")

    def register(func: Callable) -> Callable:
        params = list(inspect.signature(func).parameters)
        if not params or params[0] != "t":
            raise allowed(f"parameters of test {func.__name__}", params,
                          "'t' first, then the names of the student definitions it uses")
        case = TestCase(exercise, func.__name__, points, hidden, func, tuple(params[1:]))
        if _COLLECTORS:
            _COLLECTORS[-1].append(case)
        else:
            _REGISTRY.setdefault(exercise, {})[case.name] = case
        return func

    return register


def registered(exercise: str) -> list[TestCase]:
    """Tests of ``exercise`` registered in this process (by running test cells)."""
    return list(_REGISTRY.get(exercise, {}).values())


@contextmanager
def collecting() -> Iterator[list[TestCase]]:
    """Collect the tests that code run inside the block declares, instead of registering them."""
    cases: list[TestCase] = []
    _COLLECTORS.append(cases)
    try:
        yield cases
    finally:
        _COLLECTORS.pop()


# ---- running a test -----------------------------------------------------------------------------


class TestFailure(AssertionError):
    """A test's verdict: ``message`` for the student, with the failing ``seed`` and trace."""

    def __init__(self, message: str, seed: int | None = None, trace: Any = None,
                 at: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.seed = seed
        self.trace = trace
        self.at = at


class StudentError(Exception):
    """The student's code raised; ``kind`` is the exception type name."""

    def __init__(self, kind: str, message: str, where: str = "", not_implemented: bool = False) -> None:
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind = kind
        self.message = message
        self.where = where
        self.not_implemented = not_implemented


def check_seeds_args(n: Any, group: Any) -> None:
    """Refuse what :meth:`Context.seeds` cannot take."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise allowed("n", n, "a positive int")
    if group is not None and (type(group) is not str or not group or "/" in group):
        raise allowed("group", group, "a non-empty str without '/'")


class Context:
    """The ``t`` a test receives: seeds, expectations, and whether it is hidden.

    Public tests get fixed seeds ``1..n``; hidden tests get seeds derived from the
    instructor's secret with HMAC-SHA256 over ``salt`` (the grader passes the student id and
    a digest of the submission's answer cells), the exercise, the test and the index, so
    students cannot precompute them and a leaked input helps no other submission. Hidden
    tests that judge different properties of the same runs name a ``group``: they get the
    same seeds (derived from the group instead of the test), so the grader runs each run once
    (:func:`~dscourse.checkers.trial.judged_once`).
    """

    def __init__(self, case: TestCase, secret: bytes | None = None, salt: str = "") -> None:
        self.case = case
        self.hidden = case.hidden
        self._secret = secret
        self._salt = salt

    def seeds(self, n: int, group: str | None = None) -> list[int]:
        """``n`` seeds for this test (fixed when public, secret-derived when hidden: from the
        test's name, or from ``group``, shared by the exercise's tests naming it)."""
        check_seeds_args(n, group)
        if not self.hidden:
            return list(range(1, n + 1))
        if self._secret is None:
            raise allowed("secret", None, "an instructor's secret (hidden tests run only in the grader)")
        source = self.case.name if group is None else f"group/{group}"    # never a test's name
        out = []
        for i in range(n):
            tag = f"{self._salt}/{self.case.exercise}/{source}/{i}".encode()
            out.append(int.from_bytes(hmac.new(self._secret, tag, hashlib.sha256).digest()[:4], "big"))
        return out

    def fail(self, message: str, seed: int | None = None, trace: Any = None,
             at: float | None = None) -> None:
        """Fail the test with ``message`` (shown to the student for public tests only)."""
        raise TestFailure(message, seed, trace, at)

    def expect(self, trial: Any) -> None:
        """Fail with the first violation of a harness :class:`~dscourse.checkers.trial.Trial`."""
        if trial.error is not None:
            if isinstance(trial.error, StudentError) and not trial.error.not_implemented:
                raise TestFailure(f"your code raised {trial.error}{trial.error.where}",
                                  trial.seed, trial.trace, trial.at)
            raise trial.error
        if trial.violations:
            raise TestFailure(trial.violations[0], trial.seed, trial.trace, trial.at)


@dataclass(frozen=True)
class Outcome:
    """How one test went: ``status`` is passed, failed, not_implemented or error."""

    case: TestCase
    status: str
    message: str = ""
    seed: int | None = None
    trace: Any = field(default=None, repr=False, compare=False)
    at: float | None = None

    @property
    def score(self) -> int:
        return self.case.points if self.status == "passed" else 0


MISSING = object()


def run_test(case: TestCase, bindings: dict[str, Any], secret: bytes | None = None,
             reraise: tuple[type[BaseException], ...] = (), salt: str = "",
             context: Context | None = None) -> Outcome:
    """Run ``case`` with the student's definitions in ``bindings``; never raises for student
    faults (exceptions in ``reraise``, e.g. a dead sandbox, propagate). ``context`` replaces
    the test's usual context (:class:`.shrink.Focused` reruns one seed)."""
    args = []
    for name in case.names:
        value = bindings.get(name, MISSING)
        if value is MISSING:
            return Outcome(case, "not_implemented", f"`{name}` is not defined yet: write it in the "
                                                    f"answer cell of {case.exercise} and run that cell")
        args.append(value)
    try:
        case.func(context if context is not None else Context(case, secret, salt), *args)
    except reraise:
        raise
    except TestFailure as exc:
        return Outcome(case, "failed", exc.message, exc.seed, exc.trace, exc.at)
    except StudentError as exc:
        if exc.not_implemented:
            return Outcome(case, "not_implemented", _stub_message(exc.message, secret))
        return Outcome(case, "failed", f"your code raised {exc}{exc.where}")
    except NotImplementedError as exc:
        return Outcome(case, "not_implemented", _stub_message(str(exc), secret))
    except AssertionError as exc:
        return Outcome(case, "failed", str(exc) or "an assertion failed")
    except Exception as exc:  # noqa: BLE001 - the student's code may raise anything
        return Outcome(case, "failed", f"your code raised {type(exc).__name__}: {exc}{_where(exc)}")
    return Outcome(case, "passed")


def _stub_message(said: str, secret: bytes | None) -> str:
    """What a not-implemented outcome reports: in the student's own kernel (no secret), the
    stub's message, which names what to write; in the grader, a fixed text (a student's
    exception message never reaches feedback there, so it cannot carry hidden inputs out)."""
    if secret is None and said:
        return f"not implemented yet: {said[:300]}"
    return "not implemented yet (a stub still raises NotImplementedError)"


def _where(exc: BaseException) -> str:
    """`` (line N in f)`` for the innermost frame outside the dscourse package, if any."""
    import traceback

    import dscourse

    root = dscourse.__path__[0]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(root)]
    if not frames:
        return ""
    f = frames[-1]
    return f" (line {f.lineno} in {f.name})"
