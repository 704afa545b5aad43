"""A node that acts in ``__init__`` fails the same way in the notebook and in the grader.

In the notebook ``ds.sim.Node.send`` before ``add_node`` raises ``NotAttachedError``; the
grader's stand-in used to record the send and the parent dropped it silently. Now the sandbox
raises too, naming the answer cell's line, and the trial ends in that error either way. After
a crash, ``__init__`` runs again inside the simulation (recovery), where acting is allowed in
both places.
"""

from __future__ import annotations

import pytest
from gradekit import solutions

import dscourse as ds
from dscourse.grading import ch01
from dscourse.grading.remote import RemoteClass, Sandboxes

SOL = solutions()["E1.1"]
#: The solution with one action added to the end of ``__init__`` (what each case plants).
ACTIONS = {
    "send": "self.send('b', ('hello', 1))",
    "broadcast": "self.broadcast(('hello', 1))",
    "set_timer": "self.set_timer(5.0, 'early')",
    "annotate": "self.annotate(note='early')",
}
ANCHOR = "        self.timer_on = False\n"


def _planted(action: str) -> tuple[str, int]:
    assert SOL.count(ANCHOR) == 1
    src = SOL.replace(ANCHOR, ANCHOR + "        " + ACTIONS[action] + "\n")
    line = src.splitlines().index("        " + ACTIONS[action]) + 1
    return src, line


def _local_class(src: str):
    ns: dict = {"ds": ds}
    exec(compile(src, "<answer E1.1>", "exec"), ns)  # noqa: S102 - the test's own source
    return ns["ReliableChannel"]


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_acting_in_init_fails_in_both_with_the_line(action):
    src, line = _planted(action)
    local = ch01.channel_trial(_local_class(src), 3)
    assert local.error is not None and local.error.kind == "NotAttachedError"
    with Sandboxes([["E1.1", src]], ["ReliableChannel"], timeout=20) as boxes:
        boxes.start()
        remote = ch01.channel_trial(RemoteClass(boxes, "ReliableChannel"), 3)
    assert remote.error is not None, "the action in __init__ was dropped silently"
    assert remote.error.kind == "NotAttachedError"
    assert f"{action}() in __init__ (answer E1.1, line {line})" in str(remote.error)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_solution_still_passes_remotely(seed):
    with Sandboxes([["E1.1", SOL]], ["ReliableChannel"], timeout=20) as boxes:
        boxes.start()
        trial = ch01.channel_trial(RemoteClass(boxes, "ReliableChannel"), seed)
    assert trial.error is None and not trial.violations


RECOVERING = """
class Chatty(ds.sim.Node):
    def __init__(self, node_id):
        super().__init__(node_id)
        if self.stable.get("crashed"):       # only when rebuilt by recovery (attached)
            self.send("b", ("back", 1))

    def on_crash(self):
        self.stable["crashed"] = True
"""


def test_acting_in_init_during_recovery_is_applied():
    """Recovery rebuilds the node from ``__init__`` inside the simulation: its send arrives."""
    from dscourse import sim as dsim
    from dscourse.grading.remote import make_node

    def run(cls) -> list:
        s = dsim.Simulation(seed=1)
        got: list = []

        class Sink(dsim.Node):
            def on_message(self, src, msg):
                got.append((src, self.now))

        s.add_node(make_node(cls, "a"))
        s.add_node(Sink("b"))
        s.run(until=5)
        s.crash("a")
        s.run(until=10)
        s.recover("a")
        s.run(until=50)
        return got

    local = run(_local_class(RECOVERING.replace("Chatty", "ReliableChannel")))
    with Sandboxes([["E1.1", RECOVERING]], ["Chatty"], timeout=20) as boxes:
        boxes.start()
        remote = run(RemoteClass(boxes, "Chatty"))
    assert len(local) == 1 and local == remote
