"""A small synthetic trace following TRACE.md, built by hand (no kernel needed)."""

from __future__ import annotations

from dscourse.sim.trace import Event, Trace


def ms(t: float) -> int:
    return round(t * 1000)


def synthetic_trace() -> Trace:
    """Three nodes a, b, c: 4 delivered messages (one duplicated), 2 drops, a crash,
    a pause, a partition, and role annotations."""
    rows = [
        (0, "start", None, None, None, None, None),
        (0, "annotate", "a", None, None, "role", {"role": "leader"}),
        (0, "annotate", "b", None, None, "role", {"role": "follower"}),
        (0, "annotate", "c", None, None, "role", {"role": "follower"}),
        (ms(1), "send", "a", "b", 1, "Ping", {"type": "Ping"}),
        (ms(1), "send", "a", "c", 2, "Ping", {"type": "Ping"}),
        (ms(3), "deliver", "b", "a", 1, "Ping", None),
        (ms(3), "duplicate", "a", "c", 2, "Ping", None),
        (ms(4), "deliver", "c", "a", 2, "Ping", None),
        (ms(5), "send", "b", "a", 3, "Pong", {"type": "Pong"}),
        (ms(6), "deliver", "c", "a", 2, "Ping", None),
        (ms(7), "deliver", "a", "b", 3, "Pong", None),
        (ms(8), "send", "c", "a", 4, "Pong", {"type": "Pong"}),
        (ms(8), "drop", "c", "a", 4, "Pong", {"reason": "loss"}),
        (ms(10), "crash", "c", None, None, None, None),
        (ms(11), "send", "a", "c", 5, "Ping", {"type": "Ping"}),
        (ms(12), "pause", "b", None, None, None, 4.0),
        (ms(13), "drop", "c", "a", 5, "Ping", {"reason": "crashed"}),
        (ms(14), "partition", None, None, None, None, [["a"], ["b", "c"]]),
        (ms(15), "send", "a", "b", 6, "Ping", {"type": "Ping"}),
        (ms(16), "resume", "b", None, None, None, None),
        (ms(18), "heal", None, None, None, None, None),
        (ms(19), "recover", "c", None, None, None, None),
        (ms(20), "annotate", "b", None, None, "role", {"role": "candidate"}),
        (ms(21), "send", "b", "c", 7, "Vote", {"type": "Vote"}),
    ]
    return Trace(Event(i, *row) for i, row in enumerate(rows))
