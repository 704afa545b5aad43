"""Trusted harnesses for Chapter 3's exercise E3.2 (the ABD client), run by the grader.

The student completes ``ABDClient.on_read_quorum``; :func:`abd_slow_write_trial` and
:func:`abd_partition_trial` run that client (in the grader, one sandbox per client) against
the library's replicas (:mod:`dscourse.replication`) and judge the history with the
linearizability checker (Attiya, Bar-Noy and Dolev 1995, §3; Herlihy and Wing 1990). They live
in ``grading`` (like :mod:`~dscourse.grading.ch01`) because they build student nodes with
:func:`~dscourse.grading.remote.make_node`, and topics never import the grader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..checkers.trial import Trial
from ..errors import allowed
from ..replication import cluster, majority_minority
from ..replication import experiments as ex
from ..sim.rng import stream
from .remote import make_node
from .runtime import wire

Fn = Callable[..., Any]


# -- E3.2: the ABD client ------------------------------------------------------------------------
def _abd_client_factory(abd_client: Any) -> Callable:
    """Builds the student's client class for :func:`cluster` (``client=``): locally, or in the
    grader's sandbox, whose messages arrive as wire records the replicas read decoded."""
    def make(cid: str, replicas: list, config: dict, workload: dict, record: Fn) -> Any:
        node = make_node(abd_client, cid, replicas, config, upcalls={"record": record},
                         methods=("submit",))
        if type(node).__name__ == "RemoteNode":
            send = node.send
            node.__dict__["send"] = lambda dst, msg: send(
                dst, wire.decode(msg["wire"]) if type(msg) is dict and "wire" in msg else msg)
        return node

    return make


def abd_slow_write_trial(abd_client: Any, seed: int = 1) -> Trial:
    """Chapter 3's slow-write scenario (:func:`~.experiments.quorum_anomaly`, N = 3, R = W = 2)
    with the student's client: once a read has returned the new value, the later read does
    too, and the history is linearizable."""
    trial = Trial(seed)
    c = ex.quorum_anomaly(write_back=False, seed=seed, client=_abd_client_factory(abd_client))
    trial.trace = c.sim.trace
    reads = [op.output for op in c.history.ops() if op.f == "get"]
    if reads != ["new", "new"]:
        trial.violate(f"Linearizability: the two reads returned {reads}; after a read has seen "
                      "'new', the later read must see it too: expected ['new', 'new']")
    elif c.check().outcome != "ok":
        trial.violate("Linearizability: the history of the slow-write scenario is not linearizable")
    return trial


#: The properties :func:`abd_partition_trial` judges (one test per property gives partial credit).
ABD_PROPERTIES = ("linearizable", "minority silent", "majority live")


def abd_partition_trial(abd_client: Any, seed: int, clients: int = 4, keys: tuple[str, ...] = ("x",),
                        start: float = 20.0, heal_after: float = 200.0,
                        properties: tuple[str, ...] = ABD_PROPERTIES) -> Trial:
    """Five replicas (R = W = 3, timeout 50 ms), ``clients`` clients with 12 random gets and
    puts each over ``keys``, partitioned into a majority and a minority side from ``start``
    for ``heal_after`` ms. The ``properties`` judged, each reported: the history is
    linearizable; no minority client completes an operation it began during the partition;
    some majority read completes during it."""
    for p in properties:
        if p not in ABD_PROPERTIES:
            raise allowed("properties", p, f"a tuple of {ABD_PROPERTIES}")
    trial = Trial(seed)
    rng = stream(seed, "E3.2/workload")
    c = cluster("quorum", replicas=5, clients=clients, seed=seed, n=5, r=3, w=3, timeout_ms=50.0,
                workload=dict(ops=0), client=_abd_client_factory(abd_client))
    trial.trace = c.sim.trace
    c.run(until=0.0)
    for cid in c.clients:
        for k in range(12):
            key = keys[int(rng.integers(len(keys)))]
            c.submit(cid, ("get", key) if rng.random() < 0.5 else ("put", key, f"{cid}.{k}"))
    majority, minority = majority_minority(c)
    end = start + heal_after
    c.nemesis([(start, ("partition", [majority, minority])), (end, ("heal",))])
    c.run(until=1500)
    ops = c.history.ops()
    if "linearizable" in properties and c.check().outcome != "ok":
        trial.violate("Linearizability: the history is not linearizable")
    early = [op for op in ops if op.process in minority and op.status == "ok"
             and start < op.call and op.ret < end]
    if "minority silent" in properties and early:
        trial.violate(f"Minority side: {early[0].process} completed a {early[0].f} it began during the "
                      f"partition ({start:g}-{end:g} ms), at {early[0].ret:.1f} ms: it cannot have "
                      "reached a majority", early[0].ret)
    if "majority live" in properties and not any(
            op.process in majority and op.f == "get" and op.status == "ok"
            and start + 20 < op.call < end - 20 for op in ops):
        trial.violate(f"Majority side: no read completed during the partition ({start:g}-{end:g} ms)")
    return trial


__all__ = ["ABD_PROPERTIES", "abd_partition_trial", "abd_slow_write_trial"]
