"""Chapter 1's harnesses accept the references on many seeds and reject known-wrong variants."""

from __future__ import annotations

import pytest

from dscourse.fundamentals.primary_backup import build, lost_writes, validate_schedule
from dscourse.fundamentals.reliable_channel import Ack, Data, ReliableChannel
from dscourse.fundamentals.timeout_fd import TimeoutFD
from dscourse.grading import ch01

SCHEDULE = [(15, "cut", "p", "b"), (60, "crash", "p")]


@pytest.mark.parametrize("seed", range(1, 41))
def test_reference_channel_passes(seed):
    assert ch01.channel_trial(ReliableChannel, seed * 7919).ok
    assert ch01.channel_trial(ReliableChannel, seed, reorder=False, messages=30, back=10).ok


@pytest.mark.parametrize("seed", range(1, 31))
def test_reference_detector_passes(seed):
    assert ch01.fd_trial(TimeoutFD, seed * 104729, n=3 + seed % 3).ok
    assert ch01.fd_trial(TimeoutFD, seed, crash=False).ok


class NoDedup(ReliableChannel):
    def on_message(self, src, msg):
        if isinstance(msg, Data):
            self.send(src, Ack(msg.seq))
            self.deliver(src, msg.data)
        else:
            super().on_message(src, msg)


class NoRetransmit(ReliableChannel):
    def on_timer(self, name, payload):
        self.timer_on = False


class NeverQuiet(ReliableChannel):
    def on_timer(self, name, payload):
        super().on_timer(name, payload)
        if not self.timer_on:
            self.send(self.peers[0], Ack(-1))
            self.set_timer(50, "again")


class Unordered(ReliableChannel):
    def on_message(self, src, msg):
        if isinstance(msg, Data) and msg.seq >= self.expected.get(src, 0) and \
                (src, msg.seq) not in self.buffer:
            self.send(src, Ack(msg.seq))
            self.buffer[(src, msg.seq)] = None
            self.deliver(src, msg.data)
        elif isinstance(msg, Data):
            self.send(src, Ack(msg.seq))
        else:
            super().on_message(src, msg)


@pytest.mark.parametrize("cls, fragment", [(NoDedup, "again"), (NoRetransmit, "were delivered by"),
                                           (NeverQuiet, "still sent"), (Unordered, "next payload")])
def test_wrong_channels_fail_with_a_clear_message(cls, fragment):
    trials = [ch01.channel_trial(cls, seed) for seed in range(1, 6)]
    assert not any(t.ok for t in trials)
    assert any(fragment in t.violations[0] for t in trials)


class NoDoubling(TimeoutFD):
    def on_message(self, src, msg):
        self.last_heard[src] = self.now
        self.suspected.discard(src)


class FixedLongTimeout(TimeoutFD):
    def __init__(self, node_id, period_ms=10.0, initial_timeout_ms=12.0):
        super().__init__(node_id, period_ms, 200.0)


class NeverSuspects(TimeoutFD):
    def on_timer(self, name, payload):
        for peer in self.peers:
            self.send(peer, "hb")
        self.set_timer(self.period_ms, "beat")


@pytest.mark.parametrize("cls, fragment", [(NoDoubling, "should have doubled"),
                                           (FixedLongTimeout, "suspect"),
                                           (NeverSuspects, "does not suspect")])
def test_wrong_detectors_fail(cls, fragment):
    trials = [ch01.fd_trial(cls, seed) for seed in range(1, 6)]
    assert not any(t.ok for t in trials)
    assert any(fragment in t.violations[0] for t in trials)


def test_detector_types_are_checked_exactly():
    class ListSuspects(TimeoutFD):
        def on_start(self):
            super().on_start()
            self.suspected = []
    trial = ch01.fd_trial(ListSuspects, 1)
    assert "must be a set" in trial.violations[0]


def test_schedule_trial_needs_a_real_loss():
    assert ch01.schedule_trial(SCHEDULE, 5).ok
    assert not ch01.schedule_trial([], 5).ok
    assert not ch01.schedule_trial([(10, "crash", "p"), (10, "crash", "b")], 5).ok
    bad = ch01.schedule_trial([(10, "explode", "p")], 5)
    assert "not valid" in bad.violations[0]


@pytest.mark.parametrize("schedule, fragment", [
    ("nope", "a list"), ([(5, "crash")], "1 argument"), ([(5, "crash", "z")], "node"),
    ([(-1, "heal")], "time_ms"), ([(True, "heal")], "time_ms"), ([(2000, "heal")], "at_ms"),
    ([(5, "partition", ["p"])], "list of lists"), ([(5, ("partition", [["p"]]))], "two or more"),
    ([(5, "pause", "p", 0)], "pause ms"), ([(5, ("clock_jump", "p", 3))], "action"),
])
def test_invalid_schedules_are_config_errors(schedule, fragment):
    with pytest.raises(ValueError, match=fragment):
        validate_schedule(schedule, ["p", "b", "c"], 1000)


def test_schedules_use_the_simulators_nemesis_format_nested_or_flat():
    nested = [(20, ("partition", [["p"], ["b", "c"]])), (200, ("heal",)), (30, ("crash", "p"))]
    flat = [(20, "partition", ["p"], ["b", "c"]), (200, "heal"), (30, "crash", "p")]
    kernel_flat = [(20, "partition", [["p"], ["b", "c"]]), (200, "heal"), (30, "crash", "p")]
    expected = [(20.0, "partition", ["p"], ["b", "c"]), (30.0, "crash", "p"), (200.0, "heal")]
    for schedule in (nested, flat, kernel_flat):
        assert validate_schedule(schedule, ["p", "b", "c"], 1000) == expected


def test_naive_primary_backup_loses_acknowledged_writes_only_under_faults():
    quiet = build(seed=3)
    assert lost_writes(quiet.run()) == []
    assert all(op.type == "ok" for op in quiet.history)
    broken = build(seed=3)
    broken.apply(SCHEDULE)
    lost = lost_writes(broken.run())
    assert lost and all(w.type == "ok" and w.f == "put" for w in lost)
    for w in lost:
        later = [op for op in broken.history if op.f == "get" and op.key == w.key
                 and op.invoke_ms > w.complete_ms]
        assert later and all(op.value != w.value for op in later)


def test_split_brain_two_primaries_after_a_partition():
    pb = build(seed=2)
    pb.apply([(20, "partition", ["p"], ["b", "c"]), (200, "heal")])
    pb.run()
    assert {s.role for s in pb.servers.values()} == {"primary"}
    roles = [e for e in pb.sim.trace.events if e.kind == "annotate" and e.data.get("role") == "primary"]
    assert {e.node for e in roles} == {"p", "b"}


# -- partial credit per property (issue 13) ------------------------------------------------------
SEEDS = range(1, 6)


def _broken(cls, trial, properties, seeds=SEEDS, **kw):
    """The properties (of ``properties``) that fail on some seed, each judged alone."""
    return {p for p in properties if not all(trial(cls, s, properties=(p,), **kw).ok for s in seeds)}


@pytest.mark.parametrize("cls, broken", [
    (ReliableChannel, set()),
    (NoDedup, {"exactly once", "in order"}),     # delivers on receipt: repeats and reorders
    (NoRetransmit, {"all delivered", "exactly once", "in order", "quiet"}),  # a link gets nothing
    (NeverQuiet, {"quiet"}),
    (Unordered, {"exactly once", "in order"}),   # a late earlier payload looks like a repeat
])
def test_each_wrong_channel_loses_exactly_its_property(cls, broken):
    assert _broken(cls, ch01.channel_trial, ch01.CHANNEL_PROPERTIES) == broken


@pytest.mark.parametrize("cls, broken", [
    (TimeoutFD, set()),
    (NoDoubling, {"adaptation"}),
    (NeverSuspects, {"completeness", "adaptation", "eventual accuracy"}),  # the last two vacuously
])
def test_each_wrong_detector_loses_its_property(cls, broken):
    assert _broken(cls, ch01.fd_trial, ch01.FD_PROPERTIES) == broken


def test_a_long_fixed_timeout_breaks_completeness_and_never_adapts():
    assert _broken(FixedLongTimeout, ch01.fd_trial, ch01.FD_PROPERTIES) == set(ch01.FD_PROPERTIES)


class Silent(ReliableChannel):
    def reliable_send(self, dst, data):
        pass


class SuspectAll(TimeoutFD):
    def on_timer(self, name, payload):
        super().on_timer(name, payload)
        self.suspected = set(self.peers)


def test_vacuous_properties_earn_nothing():
    """A channel that delivers nothing keeps every safety property vacuously: no credit. A
    detector that re-suspects everyone at every tick is complete and doubles as it retracts,
    but is never accurate."""
    assert _broken(Silent, ch01.channel_trial, ch01.CHANNEL_PROPERTIES) == set(ch01.CHANNEL_PROPERTIES)
    t = ch01.channel_trial(Silent, 1, properties=("quiet",))
    assert "held only vacuously" in t.violations[0]
    assert _broken(SuspectAll, ch01.fd_trial, ch01.FD_PROPERTIES) == {"completeness", "eventual accuracy"}


def test_messages_name_the_property():
    t = ch01.channel_trial(NoDedup, 1, properties=("exactly once",))
    assert t.violations and all(v.startswith("exactly once: ") for v in t.violations)
    t = ch01.fd_trial(NeverSuspects, 1, properties=("completeness",))
    assert t.violations and all(v.startswith("completeness: ") for v in t.violations)


def test_unknown_properties_are_config_errors():
    with pytest.raises(ValueError, match="properties"):
        ch01.channel_trial(ReliableChannel, 1, properties=("fast",))
    with pytest.raises(ValueError, match="properties"):
        ch01.fd_trial(TimeoutFD, 1, properties=("perfect",))


class Garbage(ReliableChannel):
    """Delivers something for every message, but never a payload that was sent."""

    def on_message(self, src, msg):
        self.deliver(src, ["not", "a", "payload"])


def test_invented_deliveries_count_for_nothing():
    assert _broken(Garbage, ch01.channel_trial, ch01.CHANNEL_PROPERTIES) == set(ch01.CHANNEL_PROPERTIES)
    t = ch01.channel_trial(Garbage, 1, properties=("exactly once",))
    assert "never sent on that link" in t.violations[0]


def test_vacuity_is_judged_only_when_the_run_forced_a_suspicion():
    """A correct detector is never blamed for a run whose heartbeats all came in time (it once
    lost a hidden point that way); a detector that never suspects still loses adaptation and
    accuracy on every run with a silence longer than the initial timeout plus a period."""
    assert ch01.fd_trial(TimeoutFD, 1156602890).ok       # heartbeats all in time: no suspicion
    forced = 0
    for i in range(1, 121):
        seed = i * 2654435761 % 2**32
        assert ch01.fd_trial(TimeoutFD, seed).ok, seed
        lazy = ch01.fd_trial(NeverSuspects, seed, properties=("adaptation", "eventual accuracy"))
        vacuous = [v for v in lazy.violations if "heard nothing from" in v]
        if vacuous:
            forced += 1
            assert [v.split(":")[0] for v in vacuous] == ["adaptation", "eventual accuracy"]
    assert forced > 60        # most runs force a suspicion before GST (Pareto latencies)


class Mute(TimeoutFD):
    """Sends no heartbeat and suspects every peer (the cheat corpus's globals detector)."""

    def on_timer(self, name, payload):
        self.suspected = set(self.peers)
        self.set_timer(self.period_ms, "beat")


@pytest.mark.parametrize("seed", [1, 2, 1156602890])
def test_a_detector_whose_heartbeats_never_come_earns_no_adaptation(seed):
    """No heartbeat ever ends a silence, yet the silence of correct peers until the end
    forces a suspicion (after GST a working detector's heartbeats arrive every period)."""
    t = ch01.fd_trial(Mute, seed, properties=("adaptation",))
    assert t.violations and "heard nothing from" in t.violations[0]
