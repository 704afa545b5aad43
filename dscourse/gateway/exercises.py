"""Trusted harnesses for Chapter 13's exercises (E13.1-E13.4).

Each exercise asks for a *variant* of a library algorithm as a plain function of plain data (so
it runs in the grader's sandbox, and the library's code cannot be pasted in): the harness calls
it, checks every result's shape before use, and returns a :class:`~dscourse.checkers.trial.Trial`
with one violation per failed property, so each test can give credit per property.

* E13.1 ``bucket_step(state, now_s, rate, capacity, requested) -> [allowed, new_state]`` -- the
  token bucket's arithmetic with ``state = [tokens, last_refreshed]`` or None, in exact floats.
* E13.2 ``path_match(pattern, path) -> dict | None`` -- a subset of Spring's PathPattern
  (literal segments, ``*`` in a segment, ``{name}``, ``**`` at the end), checked against
  :class:`~dscourse.gateway.PathPattern`.
* E13.3 ``breaker_run(calls, config) -> [[permitted, state_after], ...]`` -- a count-based
  Resilience4j breaker over (time, outcome) calls, checked against :class:`CircuitBreaker`.
* E13.4 ``to_python(regexp, replacement) -> [regexp, replacement]`` -- RewritePath's Java regex and
  replacement in Python's dialect, checked by rewriting paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..sim import stream
from .breaker import CircuitBreaker
from .filters import java_replacement
from .patterns import PathPattern, java_regex

Fn = Callable[..., Any]


def _report(trial: Trial, props: tuple[str, ...], problems: dict[str, str]) -> Trial:
    for p in props:
        if p in problems:
            trial.violate(problems[p])
    return trial


# -- E13.1 token bucket ------------------------------------------------------------------------
BUCKET_PROPERTIES = ("burst", "refill", "requested", "reference")


def reference_bucket_step(state: list[float] | None, now_s: float, rate: float, capacity: float,
                          requested: float) -> list[Any]:
    tokens, last = (capacity, 0.0) if state is None else (state[0], state[1])
    filled = min(capacity, tokens + max(0.0, now_s - last) * rate)
    ok = filled >= requested
    return [ok, [filled - requested if ok else filled, now_s]]


def _bucket_run(step: Fn, arrivals: list[float], rate: float, capacity: float, requested: float,
                ) -> tuple[list[bool], str | None]:
    state: Any = None
    out: list[bool] = []
    for t in arrivals:
        res = step(None if state is None else list(state), t, rate, capacity, requested)
        if not isinstance(res, (list, tuple)) or len(res) != 2 or not isinstance(res[0], bool) \
                or not isinstance(res[1], (list, tuple)) or len(res[1]) != 2 \
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in res[1]):
            return out, (f"bucket_step({state}, {t}, {rate}, {capacity}, {requested}) returned {res!r}: "
                         "expected [allowed (a bool), [tokens, last_refreshed]]")
        out.append(res[0])
        state = list(res[1])
    return out, None


def bucket_trial(bucket_step: Fn, seed: int, *, sets: int = 10,
                 properties: Iterable[str] = BUCKET_PROPERTIES) -> Trial:
    """``burst``: rate 1, capacity 3, four requests at t=0 give T T T F; ``refill``: then at
    t=1.5 one passes and at t=2 one passes, one more fails; ``requested``: 3 tokens per request
    from a bucket of 5 refilled at 1/s; ``reference``: exact decisions on random arrivals."""
    props = selected(properties, BUCKET_PROPERTIES)
    trial, problems = Trial(seed), dict[str, str]()
    seq, err = _bucket_run(bucket_step, [0, 0, 0, 0, 1.5, 2.0, 2.0], 1, 3, 1)
    if err:
        return trial.fail(err)
    if seq[:4] != [True, True, True, False]:
        problems["burst"] = f"Burst: rate 1, capacity 3, four requests at t=0 gave {seq[:4]}; expected T T T F"
    if seq[4:] != [True, True, False]:
        problems["refill"] = (f"Refill: after the burst, requests at t=1.5, 2.0, 2.0 gave {seq[4:]}; expected "
                              "T T F (1.5 tokens at 1.5 s, then 0.5 + 0.5 = 1 at 2 s)")
    seq, err = _bucket_run(bucket_step, [0, 0, 1, 2, 3], 1, 5, 3)
    if err:
        return trial.fail(err)
    if seq != [True, False, True, False, False]:
        problems["requested"] = f"Requested tokens: rate 1, capacity 5, 3 per request at t=0,0,1,2,3 gave {seq}; " \
                                "expected T F T F F (5-3=2, 2<3, 2+1=3, 0+1<3, 1+1<3)"
    rng = stream(seed, "E13.1")
    for _ in range(sets):
        rate, capacity = int(rng.integers(1, 6)), 0
        capacity = rate + int(rng.integers(0, 6))
        requested = int(rng.integers(1, 4))
        arrivals = sorted(round(float(x), 3) for x in rng.uniform(0, 5, int(rng.integers(5, 30))))
        got, err = _bucket_run(bucket_step, arrivals, rate, capacity, requested)
        if err:
            return trial.fail(err)
        ref, _ = _bucket_run(reference_bucket_step, arrivals, rate, capacity, requested)
        if got != ref:
            i = next(k for k, (a, b) in enumerate(zip(got, ref, strict=True)) if a != b)
            problems.setdefault("reference", f"Reference: rate {rate}, capacity {capacity}, requested {requested}: "
                                             f"the request at t={arrivals[i]} got {got[i]}, expected {ref[i]}")
    return _report(trial, props, problems)


# -- E13.2 Path patterns -----------------------------------------------------------------------
PATH_PROPERTIES = ("literal", "capture", "double_star", "reference", "reference_literal", "reference_capture",
                   "reference_double_star")
#: The random cases by the feature their pattern uses (a hidden test per feature gives partial
#: credit): ``**`` at the end, else a ``{name}`` capture, else literal segments and ``*``.
REFERENCE_KINDS = ("literal", "capture", "double_star")
_WORDS = ("api", "red", "blue", "member", "list", "v1", "orders", "x")


def _call_match(path_match: Fn, pattern: str, path: str) -> tuple[Any, str | None]:
    res = path_match(pattern, path)
    if res is not None and not (isinstance(res, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                              for k, v in res.items())):
        return None, f"path_match({pattern!r}, {path!r}) returned {res!r}: expected a dict of str or None"
    return res, None


def _random_case(rng: Any) -> tuple[str, str]:
    n = int(rng.integers(1, 5))
    segs, pat, used = [], [], 0
    for _ in range(n):
        w = _WORDS[int(rng.integers(len(_WORDS)))]
        segs.append(w)
        kind = int(rng.integers(4))
        if kind == 0:
            pat.append(f"{{v{used}}}")
            used += 1
        elif kind == 1:
            pat.append(w[:1] + "*")
        else:
            pat.append(w if rng.random() < 0.85 else _WORDS[int(rng.integers(len(_WORDS)))])
    if rng.random() < 0.3:
        pat.append("**")
        segs += [_WORDS[int(rng.integers(len(_WORDS)))] for _ in range(int(rng.integers(0, 3)))]
    elif rng.random() < 0.2:
        segs.append("extra")
    return "/" + "/".join(pat), "/" + "/".join(segs)


def _kind(pattern: str) -> str:
    return "double_star" if pattern.endswith("**") else "capture" if "{" in pattern else "literal"


def _reference_case(path_match: Fn, pattern: str, path: str, prop: str, problems: dict[str, str]) -> str | None:
    """Judge one case against Spring's PathPattern under ``prop``; an unusable answer's message,
    or None."""
    got, err = _call_match(path_match, pattern, path)
    if err:
        return err
    want = PathPattern(pattern).match(path)
    if got != want:
        name = prop.replace("_", " ").capitalize()
        problems.setdefault(prop, f"{name}: path_match({pattern!r}, {path!r}) gave {got!r}, expected {want!r}")
    return None


def path_trial(path_match: Fn, seed: int, *, cases: int = 60, properties: Iterable[str] = PATH_PROPERTIES) -> Trial:
    """``literal``, ``capture`` and ``double_star``: fixed tables; ``reference``: ``cases`` random
    patterns and paths against Spring's PathPattern; ``reference_<kind>``: ``cases`` random ones
    whose pattern uses that feature (:data:`REFERENCE_KINDS`), each kind its own property."""
    props = selected(properties, PATH_PROPERTIES)
    trial, problems = Trial(seed), dict[str, str]()
    tables = {
        "literal": [("/a/b", "/a/b"), ("/a/b", "/a/c"), ("/a/b", "/a/b/c"), ("/a/*.html", "/a/x.html"),
                    ("/a/*", "/a")],
        "capture": [("/red/{segment}", "/red/blue"), ("/red/{segment}", "/red/blue/x"),
                    ("/u/{a}/{b}", "/u/1/2"), ("/u/{a}", "/u")],
        "double_star": [("/say/**", "/say"), ("/say/**", "/say/a/b"), ("/say/**", "/sayx/a"), ("/**", "/any/thing")],
    }
    for prop, rows in tables.items():
        for pattern, path in rows:
            if (err := _reference_case(path_match, pattern, path, prop, problems)) is not None:
                return trial.fail(err)
    rng = stream(seed, "E13.2")
    kinds = [k for k in REFERENCE_KINDS if f"reference_{k}" in props]
    if "reference" in props:
        for _ in range(cases):
            if (err := _reference_case(path_match, *_random_case(rng), "reference", problems)) is not None:
                return trial.fail(err)
    drawn = dict.fromkeys(kinds, 0)
    while kinds and min(drawn.values()) < cases:          # ``cases`` random cases of each kind asked for
        pattern, path = _random_case(rng)
        kind = _kind(pattern)
        if drawn.get(kind, cases) < cases:
            drawn[kind] += 1
            if (err := _reference_case(path_match, pattern, path, f"reference_{kind}", problems)) is not None:
                return trial.fail(err)
    return _report(trial, props, problems)


# -- E13.3 circuit breaker ---------------------------------------------------------------------
BREAKER_PROPERTIES = ("opens", "rejects", "half_open", "reference")
STATES = ("CLOSED", "OPEN", "HALF_OPEN")


def reference_breaker_run(calls: list[list[Any]], config: dict[str, Any]) -> list[list[Any]]:
    b = CircuitBreaker("E13.3", sliding_window_size=config["window"], minimum_number_of_calls=config["minimum"],
                       failure_rate_threshold=config["threshold"], wait_duration_in_open_state_ms=config["wait_ms"],
                       permitted_number_of_calls_in_half_open_state=config["half_open_calls"])
    out = []
    for t, outcome in calls:
        ok = b.try_acquire(t)
        if ok:
            (b.on_success if outcome == "success" else b.on_error)(1.0, t)
        out.append([ok, b.state])
    return out


def _breaker_call(breaker_run: Fn, calls: list[list[Any]], config: dict[str, Any]) -> tuple[Any, str | None]:
    res = breaker_run([list(c) for c in calls], dict(config))
    if not isinstance(res, (list, tuple)) or len(res) != len(calls) or not all(
            isinstance(r, (list, tuple)) and len(r) == 2 and isinstance(r[0], bool) and r[1] in STATES for r in res):
        return None, (f"breaker_run(<{len(calls)} calls>, {config}) returned {str(res)[:120]}: expected one "
                      "[permitted (bool), state after] per call, states from CLOSED, OPEN, HALF_OPEN")
    return [list(r) for r in res], None


def breaker_trial(breaker_run: Fn, seed: int, *, sets: int = 10,
                  properties: Iterable[str] = BREAKER_PROPERTIES) -> Trial:
    """``opens``: at the minimum number of calls with a failure rate at the threshold; ``rejects``:
    no call permitted while open and waiting; ``half_open``: exactly the permitted trial calls,
    then closed on success; ``reference``: exact sequences on random outcomes."""
    props = selected(properties, BREAKER_PROPERTIES)
    trial, problems = Trial(seed), dict[str, str]()
    cfg = {"window": 4, "minimum": 4, "threshold": 50, "wait_ms": 1000, "half_open_calls": 2}
    script = [[0, "failure"], [1, "success"], [2, "failure"], [3, "success"], [500, "success"], [1003, "success"],
              [1004, "success"], [1005, "success"], [1006, "success"], [1007, "success"], [1008, "success"]]
    got, err = _breaker_call(breaker_run, script, cfg)
    if err:
        return trial.fail(err)
    want = reference_breaker_run(script, cfg)
    if [s for _, s in got[:4]] != ["CLOSED", "CLOSED", "CLOSED", "OPEN"]:
        problems["opens"] = (f"Opens: window 4, minimum 4, threshold 50%: F S F S gave states "
                             f"{[s for _, s in got[:4]]}; expected CLOSED CLOSED CLOSED OPEN (2 of 4 is 50%)")
    if got[4:6] != want[4:6]:
        problems["rejects"] = (f"Rejects: calls at 500 and 1003 ms while open (opened at 3, wait 1000) "
                               f"gave {got[4:6]}; expected {want[4:6]}")
    if got[6:] != want[6:]:
        problems["half_open"] = f"Half-open: calls at 1004-1008 ms gave {got[6:]}; expected {want[6:]}"
    rng = stream(seed, "E13.3")
    for _ in range(sets):
        c = {"window": int(rng.integers(2, 8)), "minimum": int(rng.integers(2, 8)),
             "threshold": int(rng.choice([25, 50, 75])), "wait_ms": int(rng.integers(50, 500)),
             "half_open_calls": int(rng.integers(1, 4))}
        t, calls = 0, []
        p_fail = float(rng.uniform(0.1, 0.9))
        for _ in range(int(rng.integers(10, 60))):
            t += int(rng.integers(0, 100))
            calls.append([t, "failure" if rng.random() < p_fail else "success"])
        got, err = _breaker_call(breaker_run, calls, c)
        if err:
            return trial.fail(err)
        want = reference_breaker_run(calls, c)
        if got != want:
            i = next(k for k, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
            problems.setdefault("reference", f"Reference: config {c}: call {i} at t={calls[i][0]} ({calls[i][1]}) "
                                             f"gave {got[i]}, expected {want[i]}")
    return _report(trial, props, problems)


# -- E13.4 RewritePath in Python's dialect -----------------------------------------------------
REWRITE_PROPERTIES = ("named_groups", "replacement", "reference")


def rewrite_trial(to_python: Fn, seed: int, *, cases: int = 20,
                  properties: Iterable[str] = REWRITE_PROPERTIES) -> Trial:
    """Apply ``re.sub`` with the student's translation to paths and compare with the library's."""
    props = selected(properties, REWRITE_PROPERTIES)
    trial, problems = Trial(seed), dict[str, str]()
    fixed = [("named_groups", "/api/(?<segment>.*)", "/$\\{segment}", "/api/member/list"),
             ("named_groups", "/(?<a>[a-z]+)/(?<b>\\d+)", "/${b}/${a}", "/shop/42"),
             ("replacement", "/v1/(.*)", "/v2/$1", "/v1/orders/7"),
             ("replacement", "/(a)(b)", "/$2$1", "/ab/ab")]
    rng = stream(seed, "E13.4")
    randoms = []
    for _ in range(cases):
        w = [_WORDS[int(rng.integers(len(_WORDS)))] for _ in range(3)]
        name = f"g{int(rng.integers(10))}"
        randoms.append(("reference", f"/{w[0]}/(?<{name}>[^/]+)(?<rest>/.*)?", f"/{w[1]}/${{{name}}}${{rest}}",
                        f"/{w[0]}/{w[2]}" + ("/x/y" if rng.random() < 0.5 else "")))
    for prop, rx, repl, path in fixed + randoms:
        res = to_python(rx, repl)
        if not (isinstance(res, (list, tuple)) and len(res) == 2 and all(isinstance(x, str) for x in res)):
            return trial.fail(f"to_python({rx!r}, {repl!r}) returned {res!r}: expected [regexp, replacement]")
        want = re.sub(java_regex(rx), java_replacement(repl), path)
        try:
            got = re.sub(res[0], res[1], path)
        except (re.error, IndexError) as e:
            got = f"<error: {e}>"
        if got != want:
            problems.setdefault(prop, f"{prop.replace('_', ' ').capitalize()}: RewritePath={rx},{repl} on {path!r} "
                                      f"gave {got!r} with your translation {list(res)!r}; expected {want!r}")
    return _report(trial, props, problems)
