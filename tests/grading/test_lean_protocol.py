"""Issue 23, item 5: the lean sandbox protocol grades exactly as the full one did.

Since item 5 a node's peers and observed names cross the pipe once (peers again when they
change), the child reports only the observed values that changed, and E1.2's harness
re-observes only the nodes whose values moved (``remote.observed_version``). The reference is
the protocol before it: ``RemoteNode.RESEND`` (peers and every observed value on every call)
with every node observed after every event. Both must give the same trials (violations,
errors, trace digests) and the same grades (scores, statuses, feedback) on the master, the
stubs, buggy answers and corpus cheats.
"""

from __future__ import annotations

import json
import sys
import types
from contextlib import contextmanager

import pytest
from cheat_corpus import ALWAYS_EQUAL, RAISE_SYSTEMEXIT_12
from gradekit import MASTER, solutions, submission, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse import sim as dsim
from dscourse.grading import ch01, grader, remote
from dscourse.grading.remote import RemoteClass, Sandboxes, make_node
from dscourse.grading.runtime import wire

SOL = solutions()

# Buggy but honest answers, each breaking a different property (so different observations).
FD_NO_DOUBLING = SOL["E1.2"].replace("self.timeout[src] *= 2", "self.timeout[src] += 0")
FD_LIST = SOL["E1.2"].replace("self.suspected: set[str] = set()", "self.suspected = []").replace(
    "self.suspected.discard(src)", "self.suspected.remove(src)").replace(
    "self.suspected.add(peer)", "self.suspected.append(peer)")
FD_FLOATS = SOL["E1.2"].replace("self.timeout[src] *= 2",           # 24 then 24.0: equal, not the same
                                "self.timeout[src] = (self.timeout[src] * 2) if self.now % 2 < 1 "
                                "else float(self.timeout[src] * 2)")
CHANNEL_NO_ACK = SOL["E1.1"].replace("self.send(src, Ack(msg.seq))", "pass")


def _changed(a: str, b: str) -> str:
    assert a != b, "the bug was not planted"
    return b


ANSWERS = {
    "E1.1": {"master": SOL["E1.1"], "no_ack": _changed(SOL["E1.1"], CHANNEL_NO_ACK),
             "always_equal": ALWAYS_EQUAL},
    "E1.2": {"master": SOL["E1.2"], "no_doubling": _changed(SOL["E1.2"], FD_NO_DOUBLING),
             "list": _changed(SOL["E1.2"], FD_LIST), "floats": _changed(SOL["E1.2"], FD_FLOATS),
             "systemexit": RAISE_SYSTEMEXIT_12},
}


@contextmanager
def reference():
    """The protocol before item 5: everything resent, every node observed after every event."""
    saved = ch01.observed_version
    remote.RemoteNode.RESEND = True
    ch01.observed_version = lambda node: None
    try:
        yield
    finally:
        remote.RemoteNode.RESEND = False
        ch01.observed_version = saved


def _trials(exercise: str, src: str) -> list:
    """Every trial of ``exercise`` on several seeds (and shapes), as comparable data."""
    name = "ReliableChannel" if exercise == "E1.1" else "TimeoutFD"
    out = []
    with Sandboxes([[exercise, src]], [name], timeout=20) as boxes:
        boxes.start()
        cls = RemoteClass(boxes, name)
        for seed in range(1, 5):
            if exercise == "E1.1":
                trial = ch01.channel_trial(cls, seed)
            else:
                trial = ch01.fd_trial(cls, seed, n=3 + seed % 3, crash=seed != 2)
            out.append((seed, list(trial.violations), str(trial.error), trial.trace.digest()))
    return out


@pytest.mark.parametrize(("exercise", "answer"), [(ex, a) for ex, answers in ANSWERS.items()
                                                   for a in answers])
def test_lean_trials_equal_the_full_protocols(exercise, answer):
    src = ANSWERS[exercise][answer]
    lean = _trials(exercise, src)
    with reference():
        full = _trials(exercise, src)
    assert lean == full
    if answer in ("master", "floats"):        # floats: right values, int and float mixed
        assert all(not v and e == "None" for _, v, e, _ in lean)
    else:                                      # each bug shows (so the comparison has teeth)
        assert any(v or e != "None" for _, v, e, _ in lean)


def _grade(folder, name: str, answers: dict) -> dict:
    folder.mkdir()
    path = write(folder, f"{name}.ipynb", submission(answers))
    r = grader.grade_submission(path, grader.load_master(MASTER), b"lean-protocol", timeout=30)
    return {"status": r.status, "reason": r.reason, "scores": r.scores, "notes": r.notes,
            "flags": r.flags, "outcomes": [(o.case.exercise, o.case.name, o.status, o.message, o.seed)
                                           for o in r.outcomes],
            "counterexamples": [{k: v for k, v in cx.items() if k != "svg"} for cx in r.counterexamples]}


@pytest.mark.parametrize(("name", "answers"), [
    ("master", {"E1.1": "SOL", "E1.2": "SOL", "E1.3": "SOL"}),
    ("stubs", {}),
    ("cheats", {"E1.1": ALWAYS_EQUAL, "E1.2": FD_NO_DOUBLING, "E1.3": "SOL"}),
])
def test_lean_grades_equal_the_full_protocols(tmp_path, name, answers):
    lean = _grade(tmp_path / "lean", name, answers)
    with reference():
        full = _grade(tmp_path / "full", name, answers)
    assert lean == full
    # the cheats: E1.1 nothing, E1.2 all but adaptation (partial credit), E1.3 the solution
    expected = {"master": 20, "stubs": 0, "cheats": 9}[name]
    assert sum(lean["scores"].values()) == expected


# ---- observed values: only changes cross the pipe, exactly --------------------------------

SHOW = """
class Shower(ds.sim.Node):
    kept = "class attribute"                 # survives a crash: unchanged across it

    def __init__(self, node_id, values):
        super().__init__(node_id)
        self.values = list(values)
        self.k = 0
        self.value = None

    def advance(self):
        self.value = self.values[self.k]
        self.k += 1
"""

_atoms = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, -1.0, 2.5]),
                   st.sampled_from(["", "a", "1"]))
_values = st.recursive(_atoms, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2),
    st.frozensets(st.integers(0, 3), max_size=3)), max_leaves=6)


def _exact(value) -> str:
    """A rendering that tells 1, 1.0 and True apart (and tuples from lists)."""
    return json.dumps(wire.encode(value))


@pytest.fixture(scope="module")
def shower_boxes():
    with Sandboxes([["E0.0", SHOW]], ["Shower"], timeout=60) as boxes:
        boxes.start()
        yield boxes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_values, min_size=1, max_size=8))
def test_the_harness_sees_every_observed_value_with_its_exact_type(shower_boxes, values):
    s = dsim.Simulation(seed=1)
    node = make_node(RemoteClass(shower_boxes, "Shower"), "a", values, observe=("value", "kept"),
                     methods=("advance",))
    s.add_node(node)
    s.run(until=1)
    seen, versions = [], [remote.observed_version(node)]
    for _ in values:
        node.advance()
        seen.append(_exact(node.value))
        versions.append(remote.observed_version(node))
        assert node.kept == "class attribute"
    assert seen == [_exact(wire.decode(wire.encode(v))) for v in values]
    # the version moves exactly when the shown value's JSON changed
    texts = [_exact(None), *seen]
    for i in range(1, len(texts)):
        assert (versions[i] != versions[i - 1]) == (texts[i] != texts[i - 1]), (i, texts)


def test_a_crash_makes_the_child_report_everything_again():
    """After a crash the proxy has lost its copies; an observed value that did not change in
    the child (a class attribute) must still be shown after recovery."""
    with Sandboxes([["E0.0", SHOW]], ["Shower"], timeout=20) as boxes:
        boxes.start()
        s = dsim.Simulation(seed=3)
        node = make_node(RemoteClass(boxes, "Shower"), "a", [1, 2], observe=("kept", "value"),
                         methods=("advance",))
        s.add_node(node)
        s.run(until=1)
        assert node.kept == "class attribute"
        s.crash("a")
        s.run(until=2)
        s.recover("a")
        s.run(until=3)
        assert node.kept == "class attribute" and node.value is None
        node.advance()
        assert node.value == 1


# ---- numpy only for nodes that use their rng ----------------------------------------------

LAZY = """
import sys


def loaded():
    return ("num" + "py") in sys.modules


class Drawer(ds.sim.Node):
    def on_start(self):
        self.draws = []
        if self.id == "b":
            generator = __import__("num" + "py").random.Generator
            self.draws.append(isinstance(getattr(self, "r" + "ng"), generator))   # before a draw
            self.set_timer(1, "draw")

    def on_timer(self, name, payload):
        self.draws.append(int(getattr(self, "r" + "ng").integers(1000)))
        self.draws.append(float(getattr(self, "r" + "ng").random()))
        if len(self.draws) < 8:
            self.set_timer(1, "draw")
"""


def _local(src: str, name: str):
    module = types.ModuleType("lean_local")
    module.ds = ds
    sys.modules["lean_local"] = module
    exec(src, module.__dict__)  # noqa: S102 - the test's own code
    return module.__dict__[name]


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_numpy_is_imported_only_when_a_node_draws_and_the_stream_continues(seed):
    assert not remote.NUMPY_HINT.search(LAZY)            # nothing hints at numpy: lazy path

    def run(cls):
        s = dsim.Simulation(seed=seed)
        nodes = [make_node(cls, n, observe=("draws",)) for n in ("a", "b")]
        for node in nodes:
            s.add_node(node)
        s.run(until=20)
        return [node.draws for node in nodes]

    local = run(_local(LAZY, "Drawer"))
    with Sandboxes([["E0.0", LAZY]], ["Drawer", "loaded"], timeout=30) as boxes:
        names = boxes.start()["names"]
        assert names == {"Drawer": "node", "loaded": "function"}
        loaded = remote.RemoteFunction(boxes.main, "loaded")
        assert loaded() is False                         # nothing imported it at start-up
        remote_draws = run(RemoteClass(boxes, "Drawer"))
        assert loaded() is False                         # main hosted "a", which never drew
    assert remote_draws == local and local[1][0] is True and len(local[1]) == 9


def test_an_answer_that_mentions_rng_gets_numpy_at_start_up():
    src = LAZY.replace('getattr(self, "r" + "ng")', "self.rng")
    with Sandboxes([["E0.0", src]], ["loaded"], timeout=30) as boxes:
        boxes.start()
        assert remote.RemoteFunction(boxes.main, "loaded")() is True


# ---- size limits still hold where a line could carry an oversized value --------------------

BIG = """
class Big(ds.sim.Node):
    def __init__(self, node_id, kind, size):
        super().__init__(node_id)
        self.kind, self.size = kind, size

    def on_start(self):
        if self.kind == "send":
            self.send("b", "x" * self.size)
        elif self.kind == "timer":
            self.set_timer(1, "t", "x" * self.size)
        elif self.kind == "annotate":
            self.annotate(note="x" * self.size)
"""


@pytest.mark.parametrize(("kind", "limit"), [("send", remote.MAX_MESSAGE), ("timer", remote.MAX_MESSAGE),
                                             ("annotate", remote.MAX_ANNOTATION)])
@pytest.mark.parametrize("escaped", [False, True])
def test_values_over_a_limit_are_refused_and_under_it_pass(kind, limit, escaped):
    """``escaped``: non-ASCII text, whose JSON (with \\u escapes) is 2 to 6 times its bytes."""
    char, width = ("é", 6) if escaped else ("x", 1)
    src = BIG.replace('"x"', repr(char))
    with Sandboxes([["E0.0", src]], ["Big"], timeout=20) as boxes:
        boxes.start()
        for size, ok in (((limit - 64) // width, True), (limit // width + 1, False)):
            s = dsim.Simulation(seed=1)
            s.add_node(make_node(RemoteClass(boxes, "Big"), "a", kind, size))
            s.add_node(make_node(RemoteClass(boxes, "Big"), "b", "none", 0))
            if ok:
                s.run(until=2)
            else:
                with pytest.raises(Exception, match="larger than"):
                    s.run(until=2)
