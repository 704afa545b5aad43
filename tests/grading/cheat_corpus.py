"""The cheat corpus: hostile and malformed submissions, each with its honest expected score.

Each entry builds a submission from the generated student notebook by replacing answer
cells: ``SOL`` is the master's solution, ``None`` keeps the stub, any other string is the
cell's new source. ``expected`` is the score the submission honestly earns (what its real
solutions are worth, ignoring the attack), asserted exactly; ``status`` the row's status.
The host-side facts some attacks would leave behind (files, processes, connections) are
checked by ``test_cheat_corpus.py``.
"""

from __future__ import annotations

import socket


def _free_loopback_port() -> int:
    """A port nothing listens on now, so concurrent test runs on one machine don't collide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SOL = "SOL"
PWNED = "/tmp/dscourse-cheat-pwned"          # no attack may create this on the host
NET_PORT = _free_loopback_port()             # the test listens here on the host's loopback
LINGER = "dscourse-cheat-linger"              # argv[0] of the processes fork_and_linger leaves

STUB_11 = """# ANSWER E1.1
class ReliableChannel(ds.sim.Node):
    pass
"""

ALWAYS_EQUAL = """# ANSWER E1.1
from dataclasses import dataclass


@dataclass(frozen=True)
class Anything:
    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


class ReliableChannel(ds.sim.Node):
    def reliable_send(self, dst, data):
        self.send(dst, "x")

    def on_message(self, src, msg):
        self.deliver(src, Anything())
"""

ALWAYS_EQUAL_13 = """# ANSWER E1.3
class Anything(list):
    def __eq__(self, other):
        return True


def nemesis_schedule():
    return Anything()
"""

MONKEYPATCH = """# ANSWER E1.1
import builtins
import sys
try:
    import dscourse.grading as g
    g.check = lambda *a, **k: print("E1.1: all tests passed")
    g.test = lambda *a, **k: (lambda f: f)
    ds.grading.ch01.channel_trial = lambda *a, **k: None
except Exception:
    pass
for name, mod in list(sys.modules.items()):
    for attr in ("run_test", "expect", "fail", "channel_trial"):
        if hasattr(mod, attr):
            try:
                setattr(mod, attr, lambda *a, **k: None)
            except Exception:
                pass
builtins.AssertionError = type("Never", (Exception,), {})


class ReliableChannel(ds.sim.Node):
    pass
"""

READ_MASTER = """# ANSWER E1.1
import json
import os

found = {}
for top in ("/work", "/root", "/home", "/tmp", "/srv", "/opt", "/mnt", "/"):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "usr")]
        for f in filenames:
            if f.endswith(".ipynb"):
                try:
                    nb = json.load(open(os.path.join(dirpath, f)))
                except Exception:
                    continue
                for cell in nb.get("cells", []):
                    src = "".join(cell.get("source", []))
                    if "# BEGIN SOLUTION" in src and src.startswith("# ANSWER"):
                        found[src.split()[2]] = src
for ex, src in sorted(found.items()):
    exec(src.replace("# BEGIN SOLUTION", "").replace("# END SOLUTION", ""), globals())
if "ReliableChannel" not in globals():
    class ReliableChannel(ds.sim.Node):
        pass
"""

READ_REFERENCE = """# ANSWER E1.1
import os

for top in ("/work", "/root", "/home", "/opt", "/srv", "/tmp", "/rt"):
    for dirpath, dirnames, filenames in os.walk(top):
        if "reliable_channel.py" in filenames and "fundamentals" in dirpath:
            exec(open(os.path.join(dirpath, "reliable_channel.py")).read(), globals())
            break
    if "ReliableChannel" in globals():
        break
else:
    class ReliableChannel(ds.sim.Node):
        pass
"""

FAKE_PRINT = """# ANSWER E1.1
import os
import sys
print("All tests passed! Score: 20/20")
print('{"score": 20, "tests": []}')
sys.stderr.write("PASSED 20/20\\n")
os.write(1, b'{"n": "0", "i": 1, "ready": true}\\n')


class ReliableChannel(ds.sim.Node):
    def on_message(self, src, msg):
        print("ok: delivered exactly once, in order")
"""

INPUT_TRANSFORMER = """# ANSWER E1.1
def _no_asserts(lines):
    return [line.replace("assert ", "pass  # ") for line in lines]


get_ipython().input_transformers_post.append(_no_asserts)
"""

SYS_EXIT = """# ANSWER E1.1
import sys
sys.exit(0)
"""

OS_EXIT = """# ANSWER E1.1
import os


class ReliableChannel(ds.sim.Node):
    def reliable_send(self, dst, data):
        os._exit(0)
"""

RAISE_SYSTEMEXIT_12 = """# ANSWER E1.2
class TimeoutFD(ds.sim.Node):
    def __init__(self, node_id, period_ms=10.0, initial_timeout_ms=12.0):
        super().__init__(node_id)
        self.suspected = set()
        self.timeout = {}

    def on_start(self):
        raise SystemExit("done")
"""

INFINITE_LOOP = """# ANSWER E1.1
class ReliableChannel(ds.sim.Node):
    def reliable_send(self, dst, data):
        while True:
            pass
"""

FORK_LINGER = """# ANSWER E1.2
import os
import select

for _ in range(3):
    try:
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                try:
                    os.execv("/usr/bin/sleep", ["dscourse-cheat-linger", "3600"])
                finally:
                    select.select([], [], [], 3600)
            os._exit(0)
    except OSError:
        pass
"""

ALLOC_4GB = """# ANSWER E1.2
hog = bytearray(4 << 30)
hog[::4096] = b"x" * len(hog[::4096])


class TimeoutFD(ds.sim.Node):
    pass
"""

WRITE_FILES = """# ANSWER E1.1
import json
import os

fake = {"score": 20, "tests": [], "output": "all passed"}
for path in ("results.json", "../results.json", "/tmp/results.json", "gradebook.csv",
             "../gradebook.csv", "%s", "/work/results.json"):
    try:
        with open(path, "w") as fh:
            fh.write(json.dumps(fake))
    except OSError:
        pass


class ReliableChannel(ds.sim.Node):
    pass
""".replace("%s", PWNED)

FORGE_CHANNEL = """# ANSWER E1.1
import gc
import json
import os

runner = next((o for o in gc.get_objects() if type(o).__name__ == "Runner"), None)
if runner is not None:
    for i in range(1, 4):
        forged = {"n": runner.nonce, "i": runner.seq + i, "blocked": [],
                  "cells": [], "names": {"ReliableChannel": "node", "TimeoutFD": "node",
                                         "nemesis_schedule": "function"},
                  "actions": [["up", "deliver", ["a", 1]]], "result": None}
        os.write(4, (json.dumps(forged) + "\\n").encode())
for fd in (1, 2, 5, 6):
    try:
        os.write(fd, b'{"n": "guess", "i": 2, "names": {}}\\n')
    except OSError:
        pass


class ReliableChannel(ds.sim.Node):
    pass
"""

IMPORT_REFERENCE = """# ANSWER E1.1
try:
    from dscourse.fundamentals.reliable_channel import ReliableChannel
except ImportError:
    try:
        import importlib
        ReliableChannel = importlib.import_module("dscourse.fundamentals.reliable_channel").ReliableChannel
    except ImportError:
        class ReliableChannel(ds.sim.Node):
            pass
"""

NETWORK = """# ANSWER E1.3
import socket

try:
    s = socket.create_connection(("127.0.0.1", %d), timeout=1)
    s.sendall(b"hello from the sandbox")
    ONLINE = True
except OSError:
    ONLINE = False
try:
    socket.getaddrinfo("example.com", 80)
    ONLINE = True
except OSError:
    pass


def nemesis_schedule():
    if ONLINE:
        return [(15, "cut", "p", "b"), (60, "crash", "p")]
    return []
""".replace("%d", str(NET_PORT))

PICKLE_13 = """# ANSWER E1.3
import os
import pickle


class Evil:
    def __reduce__(self):
        return (os.system, ("touch %s",))


def nemesis_schedule():
    return pickle.dumps(Evil())
""".replace("%s", PWNED)

PICKLE_11 = """# ANSWER E1.1
import os
import pickle


class Evil:
    def __reduce__(self):
        return (os.system, ("touch %s",))


class ReliableChannel(ds.sim.Node):
    def reliable_send(self, dst, data):
        self.send(dst, pickle.dumps(Evil()))

    def on_message(self, src, msg):
        self.deliver(src, msg)
""".replace("%s", PWNED)

KILL_ALL = """# ANSWER E1.2
import os
import signal


class TimeoutFD(ds.sim.Node):
    def on_start(self):
        for target in (os.getppid(), 1, -1):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
"""

FLOOD = """# ANSWER E1.1
class ReliableChannel(ds.sim.Node):
    def reliable_send(self, dst, data):
        self.send(dst, 0)

    def on_message(self, src, msg):
        for _ in range(4000):
            self.broadcast(msg)
"""

SETSID_SLEEP = """# ANSWER E1.1
import os

try:
    os.setsid()                  # leave the sandbox's process group
except OSError:
    pass


class ReliableChannel(ds.sim.Node):
    def reliable_send(self, dst, data):
        os.execv("/usr/bin/sleep", ["%s", "3600"])
""".replace("%s", LINGER)

#: name -> (cells {exercise: source | SOL | None}, expected {exercise: points}, status, flags)
CHEATS: dict[str, tuple[dict, dict, str, tuple[str, ...]]] = {
    "master_solutions": ({"E1.1": SOL, "E1.2": SOL, "E1.3": SOL}, {"E1.1": 7, "E1.2": 7, "E1.3": 6}, "graded", ()),
    "stubs": ({}, {}, "graded", ()),
    "always_equal": ({"E1.1": ALWAYS_EQUAL, "E1.3": ALWAYS_EQUAL_13}, {}, "graded", ()),
    "monkeypatch_grader": ({"E1.1": MONKEYPATCH, "E1.3": SOL}, {"E1.3": 6}, "graded", ()),
    "read_master_from_disk": ({"E1.1": READ_MASTER}, {}, "graded", ()),
    "read_reference_source": ({"E1.1": READ_REFERENCE, "E1.2": SOL}, {"E1.2": 7}, "graded", ()),
    "print_fake_success": ({"E1.1": FAKE_PRINT}, {}, "graded", ()),
    "input_transformer": ({"E1.1": INPUT_TRANSFORMER, "E1.2": SOL}, {"E1.2": 7}, "graded", ()),
    "sys_exit": ({"E1.1": SYS_EXIT, "E1.3": SOL}, {"E1.3": 6}, "graded", ()),
    "os_exit": ({"E1.1": OS_EXIT, "E1.3": SOL}, {"E1.3": 6}, "crashed", ()),
    "raise_systemexit": ({"E1.1": SOL, "E1.2": RAISE_SYSTEMEXIT_12}, {"E1.1": 7}, "graded", ()),
    "infinite_loop": ({"E1.1": INFINITE_LOOP, "E1.3": SOL}, {"E1.3": 6}, "timeout", ()),
    "fork_and_linger": ({"E1.1": SOL, "E1.2": FORK_LINGER}, {"E1.1": 7}, "graded", ()),
    "allocate_4gb": ({"E1.1": SOL, "E1.2": ALLOC_4GB}, {"E1.1": 7}, "graded", ()),
    "write_result_files": ({"E1.1": WRITE_FILES}, {}, "graded", ()),
    "forge_result_channel": ({"E1.1": FORGE_CHANNEL, "E1.3": SOL}, {}, "crashed", ()),
    "import_reference": ({"E1.1": IMPORT_REFERENCE, "E1.3": SOL}, {"E1.3": 6}, "graded",
                         ("blocked-import:dscourse.fundamentals.reliable_channel",)),
    "network_socket": ({"E1.3": NETWORK}, {"E1.3": 1}, "graded", ()),
    "pickle_payload": ({"E1.1": PICKLE_11, "E1.3": PICKLE_13}, {}, "graded", ()),
    "kill_everything": ({"E1.1": SOL, "E1.2": KILL_ALL, "E1.3": SOL}, {"E1.1": 7, "E1.3": 6}, "graded", ()),
    "zip_slip_attachment": ({"E1.1": SOL}, {"E1.1": 7}, "graded", ()),
    "message_flood": ({"E1.1": FLOOD, "E1.3": SOL}, {"E1.3": 6}, "timeout", ()),
    "setsid_and_sleep": ({"E1.1": SETSID_SLEEP, "E1.3": SOL}, {"E1.3": 6}, "timeout", ()),
}

#: an attachment whose name climbs out of any folder it might be extracted to
ZIP_SLIP_NAME = "../../../../../../.." + PWNED

#: raw files: name -> (file name, bytes or builder key, reason fragment)
MALFORMED = {
    "not_json": ("not_json.ipynb", b"this is not a notebook\n", "not a notebook"),
    "not_ipynb": ("essay.txt", b"print('hello')\n", "not a .ipynb notebook"),
    "no_answer_cells": ("no_answers.ipynb", "no_answers", "no answer cells"),
    "wrong_exercise_set": ("wrong_set.ipynb", "wrong_set", "exercise set 'ch99'"),
    "symlink_to_master": ("linked.ipynb", "symlink", "symbolic link"),
}


# ---- issue 12: one attack per class, each failing on the grader before the hardening ---------

#: class 1, full marks without an implementation: nodes share module globals, never send.
GLOBALS_CHANNEL_11 = """# ANSWER E1.1
_BOXES = {}     # every node in this process sees it: no message is ever sent


class ReliableChannel(ds.sim.Node):
    def on_start(self):
        _BOXES.setdefault(self.id, [])
        self.set_timer(4.0, "poll")

    def reliable_send(self, dst, data):
        _BOXES.setdefault(dst, []).append((self.id, data))

    def on_timer(self, name, payload):
        box = _BOXES.setdefault(self.id, [])
        while box:
            src, data = box.pop(0)
            self.deliver(src, data)
        self.set_timer(4.0, "poll")
"""

GLOBALS_CHANNEL_12 = """# ANSWER E1.2
_ALIVE = {}     # last tick of every detector in this process: perfect knowledge, no heartbeats


class TimeoutFD(ds.sim.Node):
    def __init__(self, node_id, period_ms=10.0, initial_timeout_ms=12.0):
        super().__init__(node_id)
        self.period = period_ms
        self.t0 = initial_timeout_ms
        self.suspected = set()
        self.timeout = {}

    def on_start(self):
        _ALIVE[self.id] = self.now
        self.timeout = {p: self.t0 for p in self.peers}
        self.set_timer(self.period, "tick")

    def on_timer(self, name, payload):
        _ALIVE[self.id] = self.now
        self.suspected = {p for p in self.peers
                          if self.now - _ALIVE.get(p, -1e9) > 1.5 * self.period}
        self.set_timer(self.period, "tick")
"""

#: class 2, hidden inputs leak through the blocked-import report (and stay valid).
LEAK_INPUTS = """
import importlib

_send = ReliableChannel.reliable_send


def _leaky(self, dst, data):
    try:
        importlib.import_module("dscourse.leak.v" + str(data).replace("-", "_"))
    except ImportError:
        pass
    return _send(self, dst, data)


ReliableChannel.reliable_send = _leaky
"""

#: class 3, hangs: replies written ahead, then the request pipe is never read again.
PREWRITE_AND_STOP = """# ANSWER E1.1
import gc
import json
import os
import select


class ReliableChannel(ds.sim.Node):
    def reliable_send(self, dst, data):
        runner = next(o for o in gc.get_objects() if type(o).__name__ == "Runner")
        seq = runner.seq
        timers = [["timer", j, 0.01, "t", None] for j in range(1, 2001)]
        # answers ahead from a forked process (a protocol answer may not start threads, and
        # the attack needs none): 2000 timers, then tiny replies
        if os.fork() == 0:
            first = {"n": runner.nonce, "i": seq + 1, "actions": timers}
            os.write(4, (json.dumps(first) + "\\n").encode())
            for k in range(2, 100000):
                os.write(4, ('{"n": "%s", "i": %d}\\n' % (runner.nonce, seq + k)).encode())
            os._exit(0)
        select.select([], [], [], 3600)  # and never read the request pipe again
"""

#: class 3, a reply nested 100,000 deep, sent while the E1.1 sandbox loads (outside any test)
DEEP_REPLY = """# ANSWER E1.1
import gc
import os

_load = next((o for o in gc.get_objects() if type(o) is dict and o.get("op") == "load"), None)
if _load is not None and "ReliableChannel" in _load.get("names", ()):
    _runner = next(o for o in gc.get_objects() if type(o).__name__ == "Runner")
    _deep = "[" * 100000 + "]" * 100000
    os.write(4, ('{"n": "%s", "i": %d, "cells": %s}\\n' % (_runner.nonce, _runner.seq + 1, _deep)).encode())
    os._exit(0)
"""

#: class 4, unbounded parent work: 7 MB annotations, every millisecond, kept in the trace
HUGE_ANNOTATIONS = """# ANSWER E1.1
class ReliableChannel(ds.sim.Node):
    def on_start(self):
        self.set_timer(1.0, "bloat", "p" * 60000)

    def reliable_send(self, dst, data):
        pass

    def on_timer(self, name, payload):
        self.annotate(note="x" * 7_000_000)
        self.set_timer(1.0, "bloat", payload)
"""

#: class 5, survivors: forget the parent-death signal, leave the session, fork to the process
#: limit, create SysV IPC objects
SURVIVORS = """# ANSWER E1.2
import atexit
import ctypes
import os
import select

_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl(1, 0, 0, 0, 0)
atexit.register(select.select, [], [], [], 3600)   # the runner itself never exits either
_libc.shmget(0x5eed, 4096, 0o1666)
_libc.msgget(0x5eed, 0o1666)
_libc.semget(0x5eed, 1, 0o1666)
try:
    os.setsid()
except OSError:
    pass
for _ in range(40):
    try:
        if os.fork() == 0:
            _libc.prctl(1, 0, 0, 0, 0)
            try:
                os.setsid()
            except OSError:
                pass
            while True:
                select.select([], [], [], 60)
    except OSError:
        break
"""

#: class 6, the jail view: the schedule breaks the store only if installed packages are visible
JAIL_VIEW = """# ANSWER E1.3
import glob
import os
import sys

_PLACES = ("/usr/lib/python3*/*-packages", "/usr/lib/python3/dist-packages",
           "/usr/local/lib/python3*/*-packages", sys.base_prefix + "/lib/python3*/site-packages")
SEES = any(os.path.isdir(d) and os.listdir(d) for p in _PLACES for d in glob.glob(p))


def nemesis_schedule():
    if SEES:
        return [(15, "cut", "p", "b"), (60, "crash", "p")]
    return []
"""

#: class 7, quadratic work: 40,000 forged load notes and blocked names in every load reply
FORGED_NOTES = """# ANSWER E1.1
import gc

_runner = next(o for o in gc.get_objects() if type(o).__name__ == "Runner")
_respond = _runner.respond


def _forged(payload):
    if "cells" in payload:
        payload["cells"] = [{"exercise": "E1.1", "error": {"type": "E", "msg": "note %d" % i}}
                            for i in range(40000)]
    _respond(payload)


_runner.respond = _forged


class ReliableChannel(ds.sim.Node):
    pass
"""

HARDENING: dict[str, tuple[dict, dict, str, tuple[str, ...]]] = {
    "globals_instead_of_network": ({"E1.1": GLOBALS_CHANNEL_11, "E1.2": GLOBALS_CHANNEL_12}, {}, "graded", ()),
    "leak_hidden_inputs": ({"E1.1": (SOL, LEAK_INPUTS)}, {"E1.1": 7}, "graded", ()),
    "prewrite_and_stop_reading": ({"E1.1": PREWRITE_AND_STOP, "E1.3": SOL}, {"E1.3": 6}, "timeout", ()),
    "deep_json_reply": ({"E1.1": DEEP_REPLY, "E1.3": SOL}, {"E1.3": 6}, "crashed", ()),
    "huge_annotations": ({"E1.1": HUGE_ANNOTATIONS, "E1.3": SOL}, {"E1.3": 6}, "graded", ()),
    "survive_and_keep_ipc": ({"E1.1": SOL, "E1.2": SURVIVORS}, {"E1.1": 7}, "graded", ()),
    "jail_view_packages": ({"E1.3": JAIL_VIEW}, {"E1.3": 1}, "graded", ()),
    "forged_load_notes": ({"E1.1": FORGED_NOTES, "E1.3": SOL}, {"E1.3": 6}, "graded", ()),
}
CHEATS.update(HARDENING)

#: class 8, file names are data: name -> (file name, content key, expected row key, status)
FILE_NAMES = {
    "formula_name": ('=HYPERLINK("evil.example")+0.ipynb', "SOL",
                     '\'=HYPERLINK("evil.example")+0.ipynb', "invalid"),
    "newline_name": ("new\nline.ipynb", "SOL", "new\\nline.ipynb", "invalid"),
    "beside_alice": ("alice.zip", "SOL", "alice.zip (file)", "invalid"),
    "alice": ("alice.ipynb", "SOL", "alice", "graded"),
    "bare_student_id": ("bob", "SOL", "bob (file)", "invalid"),
}

#: class 3 again, in the file itself: a notebook nested 100,000 deep
DEEP_NOTEBOOK = b'{"cells": ' + b"[" * 100000 + b"]" * 100000 + b"}"
MALFORMED["deep_json_notebook"] = ("deep.ipynb", DEEP_NOTEBOOK, "nested too deeply")
