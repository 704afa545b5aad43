"""E13.1-E13.4 harnesses: the references pass on many seeds; wrong variants lose exactly the
properties they break."""

import re

import pytest

from dscourse.gateway import PathPattern
from dscourse.gateway import exercises as E


@pytest.mark.parametrize("seed", range(1, 9))
def test_references_pass(seed):
    assert E.bucket_trial(E.reference_bucket_step, seed, sets=20).ok
    assert E.path_trial(lambda p, x: PathPattern(p).match(x), seed, cases=100).ok
    assert E.breaker_trial(E.reference_breaker_run, seed, sets=20).ok


def test_bucket_without_refill_cap_fails_reference_only_where_it_differs():
    def no_cap(state, now, rate, cap, req):   # forgets min(capacity, ...)
        tokens, last = (cap, 0.0) if state is None else state
        filled = tokens + max(0.0, now - last) * rate
        ok = filled >= req
        return [ok, [filled - req if ok else filled, now]]
    t = E.bucket_trial(no_cap, 1, properties=("burst", "requested"))
    assert t.ok
    assert not E.bucket_trial(no_cap, 1, sets=20, properties=("reference",)).ok
    bad = E.bucket_trial(lambda *a: "yes", 1)
    assert bad.violations and "expected [allowed" in bad.violations[0]


def test_path_match_that_lets_star_cross_segments_fails():
    def greedy(pattern, path):
        rx = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", ".*")
        return {} if re.fullmatch(rx, path) else None
    t = E.path_trial(greedy, 1, properties=("literal", "capture", "double_star"))
    assert any(v.startswith("Capture") for v in t.violations)


def test_breaker_that_never_half_opens_fails_half_open_but_opens():
    def stuck(calls, config):
        out, window, state = [], [], "CLOSED"
        for _t, outcome in calls:
            permitted = state == "CLOSED"
            if permitted:
                window = ([*window, outcome == "failure"])[-config["window"]:]
                if len(window) >= min(config["minimum"], config["window"]) and \
                        100 * sum(window) / len(window) >= config["threshold"]:
                    state = "OPEN"
            out.append([permitted, state])
        return out
    t = E.breaker_trial(stuck, 1, properties=("opens", "rejects", "half_open"))
    assert [v.split(":")[0] for v in t.violations] == ["Half-open"]


def test_rewrite_without_numbered_groups_loses_that_property():
    def named_only(rx, repl):
        return [re.sub(r"\(\?<(\w+)>", r"(?P<\1>", rx), re.sub(r"\$\\?\{(\w+)\}", r"\\g<\1>", repl)]
    t = E.rewrite_trial(named_only, 1)
    assert [v.split(":")[0] for v in t.violations] == ["Replacement"]
    with pytest.raises(ValueError, match="properties"):
        E.rewrite_trial(named_only, 1, properties=("nope",))


def _capture_takes_rest(pattern, path):
    """Right on literals and ``**``, but a capture swallows the rest of the path."""
    found = PathPattern(pattern).match(path)
    if found is None and "{" in pattern and "**" not in pattern:
        head = pattern.split("{")[0]
        if path.startswith(head) and path[len(head):]:
            return {pattern.split("{")[1].split("}")[0]: path[len(head):]}
    return found


@pytest.mark.parametrize("seed", range(1, 6))
def test_the_reference_kinds_give_credit_per_feature(seed):
    t = E.path_trial(_capture_takes_rest, seed, cases=100,
                     properties=("reference_literal", "reference_capture", "reference_double_star"))
    assert [v.split(":")[0] for v in t.violations] == ["Reference capture"]
    assert E.path_trial(lambda p, x: PathPattern(p).match(x), seed, cases=100,
                        properties=("reference_literal", "reference_capture", "reference_double_star")).ok


def test_each_reference_kind_draws_its_own_cases():
    seen: dict[str, list[str]] = {}

    def spy(pattern, path):
        seen.setdefault(E._kind(pattern), []).append(pattern)
        return PathPattern(pattern).match(path)
    E.path_trial(spy, 3, cases=40, properties=("reference_double_star",))
    tables = 13                                                    # the fixed tables always run
    assert len(seen["double_star"]) == 40 + 4 and sum(map(len, seen.values())) == 40 + tables
    assert all(p.endswith("**") for p in seen["double_star"])
