"""The real-process lab: a lock holder stopped with ``SIGSTOP`` past its lease, on a real Redis.

Not a simulation: two operating-system processes (``python -m dscourse.locks.realproc``) talk
to a real ``redis-server`` through redis-py. Each process

1. takes the lock with ``SET key token NX PX lease`` and the fencing counter's ``INCR`` in one
   script (:data:`~dscourse.locks.ACQUIRE_FENCED`), and prints ``acquired <token>``;
2. then, until told otherwise, renews its lease every lease/3 (a watchdog, run in its main
   loop with ``select``'s timeout: no threads) with a compare-and-``PEXPIRE`` script;
3. on the line ``write <value>`` writes to the resource -- a Redis hash standing in for
   storage, with or without the fencing check (:data:`FENCED_WRITE`) -- and prints
   ``accepted`` or ``rejected``; on ``release`` it runs the compare-and-delete and exits.

:func:`sigstop_lab` drives two of them: A takes the lock, is stopped with ``SIGSTOP`` (its
watchdog stops with it), the key expires, B takes the lock and writes, A is resumed with
``SIGCONT`` and, still believing it holds the lock, writes with its stale token. The order of
events is fixed by the driver (it waits for each step), never by timing.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..redis import COMPARE_AND_DELETE
from .clients import ACQUIRE_FENCED

RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
         "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0")
#: The resource's write: accept only a token above the highest seen (Kleppmann 2016).
FENCED_WRITE = ("local max = tonumber(redis.call('hget', KEYS[1], 'max_token') or '-1') "
                "if tonumber(ARGV[1]) <= max then return 0 end "
                "redis.call('hset', KEYS[1], 'max_token', ARGV[1], 'value', ARGV[2]) return 1")
PLAIN_WRITE = "redis.call('hset', KEYS[1], 'value', ARGV[2]) return 1"


def worker(port: int, name: str, lease_ms: int, fencing: bool, key: str = "lock",
           resource: str = "storage", acquire_s: float = 20.0) -> int:
    """One lock client process (module docstring); returns its exit status."""
    import redis

    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5)
    value = f"{name}:{os.getpid()}"
    deadline = time.monotonic() + acquire_s
    token: Any = None
    while token is None:
        token = r.eval(ACQUIRE_FENCED, 2, key, f"{key}:fence", value, str(lease_ms))
        if token is None:
            if time.monotonic() > deadline:
                print("timeout", flush=True)
                return 1
            time.sleep(0.02)
    print(f"acquired {token}", flush=True)
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], lease_ms / 3000)
        if not ready:  # the watchdog's turn: renew while we (believe we) hold the lock
            r.eval(RENEW, 1, key, value, str(lease_ms))
            continue
        line = sys.stdin.readline().strip()
        if line.startswith("write "):
            ok = r.eval(FENCED_WRITE if fencing else PLAIN_WRITE, 1, resource, str(token), line[6:])
            print("accepted" if ok == 1 else "rejected", flush=True)
        elif line == "release" or not line:
            print(f"released {r.eval(COMPARE_AND_DELETE, 1, key, value)}", flush=True)
            return 0


@dataclass
class SigstopRun:
    """The lab's transcript and outcomes."""

    fencing: bool
    tokens: dict[str, int] = field(default_factory=dict)
    a_write: str = ""
    b_write: str = ""
    a_release: str = ""
    final_value: str | None = None
    held_while_running: bool = False
    log: list[str] = field(default_factory=list)


def _start(port: int, name: str, lease_ms: int, fencing: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "dscourse.locks.realproc", "--port", str(port), "--name", name,
            "--lease-ms", str(lease_ms)] + (["--fencing"] if fencing else [])
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def _say(p: subprocess.Popen, line: str) -> str:
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(line + "\n")
    p.stdin.flush()
    return p.stdout.readline().strip()


def sigstop_lab(port: int, *, fencing: bool, lease_ms: int = 300, wait_s: float = 30.0) -> SigstopRun:
    """Run the lab against the ``redis-server`` on 127.0.0.1:``port`` (it flushes the keys it uses)."""
    import redis

    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5)
    r.delete("lock", "lock:fence", "storage")
    run = SigstopRun(fencing)
    a = _start(port, "A", lease_ms, fencing)
    b = None
    try:
        assert a.stdout is not None
        first = a.stdout.readline().strip()
        run.log.append(f"A: {first}")
        run.tokens["A"] = int(first.split()[1])
        time.sleep(3 * lease_ms / 1000)  # three leases pass: A's watchdog keeps the key alive
        run.held_while_running = r.get("lock") is not None
        run.log.append(f"after 3 leases A still holds the key: {run.held_while_running}")
        os.kill(a.pid, signal.SIGSTOP)  # a GC pause, for real: A and its watchdog stop
        run.log.append("A stopped with SIGSTOP")
        end = time.monotonic() + wait_s
        while r.get("lock") is not None:
            if time.monotonic() > end:
                raise TimeoutError("the stopped holder's key did not expire")
            time.sleep(0.02)
        run.log.append("A's key expired")
        b = _start(port, "B", lease_ms, fencing)
        assert b.stdout is not None
        got = b.stdout.readline().strip()
        run.log.append(f"B: {got}")
        run.tokens["B"] = int(got.split()[1])
        run.b_write = _say(b, "write B")
        run.log.append(f"B writes: {run.b_write}")
        run.log.append(f"B: {_say(b, 'release')}")
        os.kill(a.pid, signal.SIGCONT)
        run.log.append("A resumed with SIGCONT, still believing it holds the lock")
        run.a_write = _say(a, "write A")
        run.log.append(f"A writes with token {run.tokens['A']}: {run.a_write}")
        run.a_release = _say(a, "release")
        run.log.append(f"A: {run.a_release} (its compare-and-delete found another value or none)")
        value = r.hget("storage", "value")
        run.final_value = None if value is None else str(value)
        run.log.append(f"the resource holds: {run.final_value}")
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait()
            if p is not None:
                for stream in (p.stdin, p.stdout):
                    if stream is not None:
                        stream.close()
    return run


def lab_text(port: int = 6379) -> str:
    """The lab's transcripts, without and with fencing, against a ``redis-server`` already
    running on 127.0.0.1:``port``; one line saying how to start one if there is none."""
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping()
    except Exception as e:  # noqa: BLE001 - no redis-py, or nothing listening: say how to run it
        return (f"no redis-server on 127.0.0.1:{port} ({type(e).__name__}):\nstart one with "
                f"`redis-server --port {port} --save ''` and run this cell again")
    out = []
    for fencing in (False, True):
        run = sigstop_lab(port, fencing=fencing)
        out.append(f"fencing {'on' if fencing else 'off'}:")
        out += [f"  {line}" for line in run.log]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--lease-ms", type=int, default=300)
    parser.add_argument("--fencing", action="store_true")
    args: Any = parser.parse_args(argv)
    return worker(args.port, args.name, args.lease_ms, args.fencing)


if __name__ == "__main__":
    sys.exit(main())
