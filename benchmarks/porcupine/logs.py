"""Read Porcupine's published test histories into :class:`~dscourse.checkers.models.Operation` lists.

Porcupine (github.com/anishathalye/porcupine) ships two sets in ``test_data/``: 102 Jepsen logs
of etcd used as a compare-and-set register (``jepsen/etcd_NNN.log``) and six logs of MIT
6.5840's key-value lab (``kv/cNN-{ok,bad}.txt``). This module reads them with the meaning
Porcupine's own test parser gives them (``porcupine_test.go``: ``parseJepsenLog`` and
``parseKvLog``), so both checkers judge the same histories:

* a log has no timestamps: an event's time is its line number among the events;
* an operation that never returns (Jepsen's ``:info``, a timed-out write or cas) returns after
  the last event with an unknown outcome; a read that failed with ``:timed-out`` returns there,
  with an unknown outcome;
* in the key-value logs an operation that never returns returns after the last event with an
  empty output (``""`` for a get), as in Porcupine's parser.

The files themselves are read from a local copy (see ``benchmarks/README.md``); nothing of
Porcupine's is committed here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from dscourse.checkers.models import UNKNOWN, Operation

CACHE = Path(__file__).resolve().parent / ".cache"
"""Where ``benchmarks/README.md`` says to place Porcupine's source and ``test_data``."""

_JEPSEN = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(\w+)\s+:(\w+)\s+(.*)$")
_KV = re.compile(r'\{:process (\d+), :type :(\w+), :f :(\w+), :key "(.*)", :value (nil|"(.*)")\}')

# Porcupine's broken etcd runs: test 95 is missing from the published tests.
ETCD_LOGS = [n for n in range(103) if n != 95]


def etcd_path(n: int) -> Path:
    return CACHE / "test_data" / "jepsen" / f"etcd_{n:03d}.log"


def kv_path(name: str) -> Path:
    return CACHE / "test_data" / "kv" / f"{name}.txt"


KV_LOGS = ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"]


def read_jepsen_etcd(path: Path) -> list[Operation]:
    """A Jepsen etcd log as a cas-register history (``dscourse.checkers.models.cas_register``)."""
    pending: dict[int, tuple[int, tuple]] = {}
    done: list[Operation] = []
    t = 0
    for line in path.read_text().splitlines():
        m = _JEPSEN.match(line.strip())
        if m is None:
            continue
        proc, kind, f, arg = int(m[1]), m[2], m[3], m[4].strip()
        if kind == "invoke":
            if f == "read":
                inp: tuple = ("read", None)
            elif f == "write":
                inp = ("write", int(arg))
            elif f == "cas":
                old, new = arg.strip("[]").split()
                inp = ("cas", (int(old), int(new)))
            else:
                continue
            pending[proc] = (t, inp)
        elif kind in ("ok", "fail") and proc in pending:
            call, inp = pending[proc]
            if f == "read" and kind == "ok":
                out = None if arg == "nil" else int(arg)
            elif f == "read":          # :fail :read :timed-out
                out = UNKNOWN
            elif f == "write" and kind == "ok":
                out = None
            elif f == "cas":
                out = kind == "ok"
            else:
                continue
            del pending[proc]
            done.append(Operation(proc, float(call), float(t), inp, out))
        else:
            continue           # :info: the operation stays pending
        t += 1
    for proc, (call, inp) in pending.items():
        done.append(Operation(proc, float(call), math.inf, inp, UNKNOWN))
    return done


def read_kv(path: Path) -> list[Operation]:
    """A 6.5840 key-value log as a ``kv()`` history."""
    pending: dict[int, tuple[int, tuple]] = {}
    done: list[Operation] = []
    t = 0
    for line in path.read_text().splitlines():
        m = _KV.match(line.strip())
        if m is None:
            continue
        proc, kind, f, key, value = int(m[1]), m[2], m[3], m[4], m[6]
        if kind == "invoke":
            inp: tuple = ("get", key) if f == "get" else (f, key, value)
            pending[proc] = (t, inp)
        elif kind == "ok" and proc in pending:
            call, inp = pending.pop(proc)
            done.append(Operation(proc, float(call), float(t), inp, value if f == "get" else None))
        else:
            continue
        t += 1
    for proc, (call, inp) in pending.items():
        done.append(Operation(proc, float(call), float(t), inp, "" if inp[0] == "get" else None))
    return done


def published() -> list[tuple[str, str, list[Operation]]]:
    """Every published history as ``(name, model name, operations)``; needs the cache."""
    out = [(f"etcd_{n:03d}", "cas_register", read_jepsen_etcd(etcd_path(n))) for n in ETCD_LOGS]
    out += [(f"kv_{name}", "kv", read_kv(kv_path(name))) for name in KV_LOGS]
    return out


def expected() -> dict[str, bool]:
    """Porcupine's expected verdict per history, read from its ``porcupine_test.go``."""
    text = (CACHE / "porcupine_test.go").read_text()
    verdicts = {f"etcd_{int(n):03d}": v == "true"
                for n, v in re.findall(r"checkJepsen\(t, (\d+), (true|false)\)", text)}
    verdicts.update({f"kv_{name}": v == "true"
                     for name, v, p in re.findall(r'checkKv\(t, "([\w-]+)", (true|false), (true|false)\)', text)
                     if p == "true"})
    return verdicts
