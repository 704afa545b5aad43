"""The grading child: runs a student's answer cells and answers the parent's calls.

Started by the sandbox bootstrap as ``python -I -S /rt/runner.py`` with the request pipe on
fd 3 and the response pipe on fd 4 (stdout and stderr go nowhere). Each request is one JSON
line; each response is one JSON line tagged with the run's nonce and a sequence number. The
child reports only observations (the actions a handler took, a function's return value);
the parent decides what they are worth. Standard library (and numpy, and orjson if present) only.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
import traceback
import types
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "pkgs")]
import wire  # noqa: E402  (sits beside this file)

REQ_FD, RESP_FD = 3, 4
MAX_LINE = 8 << 20
BLOCKED: set[str] = set()
MAX_BLOCKED = 4
ALLOWED_DS = {"dscourse", "dscourse.sim", "dscourse.grading"}
FORBID: set[str] = set()      # modules a protocol exercise may not import (rules.FORBIDDEN_MODULES)
REFUSED: set[str] = set()     # what the exercise's own code asked for anyway (reported)
COUNTING = [False]            # whether a refusal now counts: the exercise's own cells and calls


def _from_answer(depth: int = 2) -> bool:
    """Whether the code asking (an import, a call) is the student's own: the first frame above
    ours that is not the import machinery comes from an answer cell. A library importing what
    it needs (``statistics`` imports ``random``) is left alone."""
    frame: types.FrameType | None = sys._getframe(depth)
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith("<frozen importlib") or name.endswith(("importlib/__init__.py",
                                                                         "importlib\\__init__.py"))):
            return name.startswith("<answer")
        frame = frame.f_back
    return False


class _RefuseNondeterminism(importlib.abc.MetaPathFinder):
    """In a protocol exercise's sandbox, refuse the modules that would make a run depend on
    the machine (random, time, threads, sockets, ...) to the answer's own code: the parent's
    AST check finds the plain imports; this stops the hidden ones (``__import__("ran" +
    "dom")``, ``importlib.import_module(name)``)."""

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top not in FORBID or not _from_answer():
            return None
        _refuse(top)
        raise ImportError(f"{top} is not available to a protocol answer: its runs must replay "
                          "from their seed (use self.rng and self.now)")


def _refuse(name: str) -> None:
    if COUNTING[0] and len(REFUSED) < MAX_BLOCKED:
        REFUSED.add(name)


def _refusing(name: str, real):
    def refused(*args, **kwargs):
        if not _from_answer():
            return real(*args, **kwargs)
        _refuse(name)
        raise PermissionError(f"{name} is not available to a protocol answer: use self.rng")
    return refused


def forbid(modules: list) -> None:
    """Refuse ``modules`` to the answer's code from now on: drop them from the module cache (so
    importing them again asks the finder) and guard ``os.urandom`` and ``os.getrandom``."""
    FORBID.update(m for m in modules if type(m) is str)
    for name in list(sys.modules):
        if name.split(".")[0] in FORBID:
            del sys.modules[name]
    sys.meta_path.insert(0, _RefuseNondeterminism())
    for attr in ("urandom", "getrandom"):
        if hasattr(os, attr):
            setattr(os, attr, _refusing(f"os.{attr}", getattr(os, attr)))


class _BlockLibrary(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Refuse ``dscourse.*`` beyond the stand-in, and remember who asked.

    Topic packages (``dscourse.fundamentals``) import as empty packages, so that the module
    a submission really wanted (``dscourse.fundamentals.reliable_channel``) is what gets
    blocked and reported.
    """

    def find_spec(self, name, path=None, target=None):
        if not name.startswith("dscourse.") or name in ALLOWED_DS:
            return None
        if name.count(".") == 1:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        if len(BLOCKED) < MAX_BLOCKED:
            BLOCKED.add(name[:120])
        raise ImportError(f"{name} is not available while grading: submit your own code "
                          "(this attempt is reported to the instructor)")

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__path__ = []


_text = json.JSONEncoder(separators=(",", ":")).encode              # built once, not per call
_line = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_FAST: list = []              # orjson.dumps, once main() found it (the grader's read-only copy)


def _dumps(payload: dict) -> bytes:
    """``_line(payload)`` as bytes (orjson when available; the parent reads both the same).
    Where orjson would write something ``_line`` would not (a non-finite float, which ``_line``
    refuses and orjson writes as null; a float subclass; an integer beyond 64 bits; a lone
    surrogate: orjson raises TypeError for the last three), ``_line`` itself runs."""
    if _FAST and not payload.pop("_slow", False):
        try:
            return _FAST[0](payload)
        except TypeError:
            pass
    payload.pop("_slow", None)
    return _line(payload).encode()


def _observed_text(value) -> str | bytes:
    """What an observed value was last reported as (only a change is sent again)."""
    if _FAST:
        try:
            return _FAST[0](value)
        except TypeError:
            pass
    return _text(value)


def _read_lines():
    buf = b""
    while True:
        chunk = os.read(REQ_FD, 1 << 16)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)


BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class LazyGenerator:
    """A node's ``rng`` until first used: then numpy is imported (about 0.15 s of CPU, which
    most nodes never need), the node's own stream is continued from the parent's ``state``
    and put in the node's ``rng`` in place of this stand-in, which forwards to it from then
    on (for a node that kept a reference to it)."""

    __slots__ = ("_owner", "_state", "_gen")

    def __init__(self, owner: dict, state: dict) -> None:
        self._owner, self._state = owner, state
        self._gen: Any = None

    def _generator(self):
        if self._gen is None:
            import numpy.random
            bits = getattr(numpy.random, self._state["bit_generator"])(0)  # seeded: no entropy
            bits.state = self._state
            self._gen = numpy.random.Generator(bits)
            if self._owner.get("rng") is self:
                self._owner["rng"] = self._gen
        return self._gen

    def __getattr__(self, name: str):
        return getattr(self._generator(), name)

    @property  # type: ignore[misc]
    def __class__(self):
        """``isinstance(self.rng, numpy.random.Generator)`` holds before the first draw too."""
        return type(self._generator())

    def __repr__(self) -> str:
        return repr(self._generator())


class Runner:
    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.seq = 0
        self.module = types.ModuleType("student")
        self.module.__dict__["__builtins__"] = __builtins__
        sys.modules["student"] = self.module
        self.objects: dict[int, Any] = {}   # handle -> the student's object (any class)
        self.upcalls: dict[int, list[str]] = {}
        # Per handle, what the parent sends once rather than with every call: the node's peers
        # (again only when they change) and the attributes it observes; and what was last
        # reported of each observed attribute (only changes are sent back).
        self.peers: dict[int, tuple] = {}
        self.observe: dict[int, list[str]] = {}
        self.reported: dict[int, dict[str, str | bytes]] = {}     # handle -> name -> JSON text
        self.slow = False                  # the last drained actions hold a non-finite delay

    # -- plumbing ------------------------------------------------------------------------------
    def respond(self, payload: dict) -> None:
        self.seq += 1
        payload["n"], payload["i"] = self.nonce, self.seq
        if BLOCKED:                       # absent when empty: most calls have nothing to report
            payload["blocked"] = sorted(BLOCKED)
        if REFUSED:
            payload["refused"] = sorted(REFUSED)
        data = _dumps(payload) + b"\n"
        view = memoryview(data)
        while view:
            view = view[os.write(RESP_FD, view):]

    def make(self, name: str, fields: dict):
        cls = self.module.__dict__.get(name)
        if isinstance(cls, type):
            return cls(**fields)
        raise wire.WireError(f"no class {name!r} in the answer cells")

    @staticmethod
    def error(exc: BaseException) -> dict:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<answer")]
        tb = "".join(traceback.format_list(frames[-5:]))
        try:
            msg = str(exc)[:400]
        except BaseException:  # noqa: BLE001 - a hostile __str__
            msg = "(unprintable)"
        return {"type": type(exc).__name__[:80], "msg": msg, "tb": tb[:2000],
                "not_implemented": isinstance(exc, NotImplementedError)}

    def drain(self) -> list:
        import dscourse
        out = []
        self.slow = False
        for action in dscourse._ACTIONS:
            kind = action[0]
            if kind == "send":
                out.append(["send", action[1], wire.encode(action[2])])
            elif kind == "timer":
                delay = action[2]             # the student's own values, not encoded: see _dumps
                if type(delay) not in (int, float) or delay - delay != 0 or type(action[3]) is not str:
                    self.slow = True
                out.append(["timer", action[1], delay, action[3], wire.encode(action[4])])
            elif kind == "cancel":
                out.append(["cancel", action[1]])
            elif kind == "annotate":
                out.append(["annotate", wire.encode(action[1])])
            elif kind == "up":
                out.append(["up", action[1], [wire.encode(a) for a in action[2]]])
        dscourse._ACTIONS.clear()
        return out

    # -- operations ----------------------------------------------------------------------------
    def op_load(self, req: dict) -> dict:
        import dscourse
        ns = self.module.__dict__
        ns.update({"__name__": "student", "ds": dscourse})
        rules = req.get("forbid")
        own = set()
        if type(rules) is dict:
            forbid(rules.get("modules", []))
            own = set(rules.get("cells", []))
        cells = []
        for index, (exercise, source) in enumerate(req["cells"]):
            COUNTING[0] = index in own
            try:
                exec(compile(source, f"<answer {exercise}>", "exec"), ns)  # noqa: S102
                cells.append({"exercise": exercise, "error": None})
            except BaseException as exc:  # noqa: BLE001 - SystemExit included
                cells.append({"exercise": exercise, "error": self.error(exc)})
        COUNTING[0] = bool(FORBID)      # from now on the exercise's own code runs (handlers, calls)
        dscourse._ACTIONS.clear()
        names = {}
        for name in req["names"]:
            value = ns.get(name)
            if value is None:
                names[name] = "missing"
            elif isinstance(value, type) and issubclass(value, dscourse.Node):
                names[name] = "node"
            elif isinstance(value, (types.FunctionType, type)):
                names[name] = "function"
            else:
                names[name] = "other"
        return {"cells": cells, "names": names}

    def op_new(self, req: dict) -> dict:
        import dscourse
        if req.get("exclusive", True):        # one node instance per process at a time
            for table in (self.objects, self.upcalls, self.peers, self.observe, self.reported):
                table.clear()
        handle = req["h"]
        self.peers[handle] = tuple(req.get("peers", ()))
        self.observe[handle] = [n for n in req.get("observe", ()) if type(n) is str]
        self.reported[handle] = {}
        cls = self.module.__dict__[req["name"]]
        args = wire.decode(req["args"], self.make)
        kwargs = wire.decode(req["kwargs"], self.make)
        dscourse._DETACHED[0] = True          # acting in __init__ raises, as in the notebook
        try:
            obj = cls(*args, **kwargs)
        finally:
            dscourse._DETACHED[0] = False
        self.objects[req["h"]] = obj
        self.upcalls[req["h"]] = list(req["upcalls"])
        self._attach(req["h"], req.get("rng_state"))
        return {"actions": self.drain()}

    def _attach(self, handle: int, rng_state=None) -> None:
        """Give the node its upcalls and (once) the parent's random stream for it, continued
        here from the same state, so it draws what it would draw in the parent."""
        obj = self.objects[handle]
        if rng_state is not None:
            bits = rng_state.get("bit_generator") if type(rng_state) is dict else None
            if bits not in BIT_GENERATORS:
                raise ValueError(f"unknown bit generator {bits!r}")
            obj.__dict__["rng"] = LazyGenerator(obj.__dict__, rng_state)
        for up in self.upcalls[handle]:
            obj.__dict__[up] = self._upcall(up)

    @staticmethod
    def _upcall(name: str):
        import dscourse

        def upcall(*args):
            dscourse._ACTIONS.append(("up", name, args))
        return upcall

    def op_call(self, req: dict) -> dict:
        import dscourse
        handle = req["h"]
        obj = self.objects[handle]
        d = obj.__dict__
        d["_now"] = float(req["now"])
        d["_clock"] = float(req.get("clock", req["now"]))
        if "peers" in req:                    # sent only when they changed
            self.peers[handle] = tuple(req["peers"])
        d["_peers"] = self.peers.get(handle, ())   # set on every call, as the parent's kernel does
        method = req["m"]
        result = None
        if method == "__crash__":
            obj.on_crash()
            dscourse._wipe(obj)
        elif method == "__recover__":
            dscourse._rebuild(obj)
            self._attach(req["h"])
            obj.on_recover()
        else:
            args = wire.decode(req["args"], self.make)
            result = getattr(obj, method)(*args)
        out = {"actions": self.drain(), "result": wire.encode(result)}
        if self.slow:
            out["_slow"] = True
        if req.get("full"):                   # the parent lost its copies (a crash): send all
            self.reported[handle] = {}
        last = self.reported.setdefault(handle, {})
        changed = {}
        for name in self.observe.get(handle, ()):
            value = wire.encode(getattr(obj, name, None))
            text = _observed_text(value)   # the JSON, not ==, which takes 1 for 1.0 or True
            if last.get(name) != text:
                last[name] = text
                changed[name] = value
        if changed:
            out["observe"] = changed          # only what changed since the last report
        return out

    def op_fn(self, req: dict) -> dict:
        fn = self.module.__dict__[req["name"]]
        args = wire.decode(req["args"], self.make)
        result = fn(*args)
        return {"result": wire.encode(result)}

    def serve(self, lines) -> None:
        import dscourse
        for req in lines:
            op = req.get("op")
            if op == "bye":
                break
            try:
                payload = getattr(self, "op_" + op)(req)
            except BaseException as exc:  # noqa: BLE001 - report everything, even SystemExit
                dscourse._ACTIONS.clear()
                payload = {"error": self.error(exc)}
            self.respond(payload)


def main() -> None:
    sys.path.extend(p for p in sys.argv[1:] if os.path.isdir(p))   # numpy's folder, if given
    sys.meta_path.insert(0, _BlockLibrary())
    try:
        import orjson
        _FAST.append(orjson.dumps)
    except ImportError:  # pragma: no cover - the grader passes its folder
        pass
    lines = _read_lines()
    first = next(lines)
    if first.get("numpy") is True:
        # the answer mentions rng or numpy: import it now, at start-up (the grader's time,
        # not the student's); otherwise a node's rng imports it on first use (LazyGenerator)
        try:
            import numpy.random  # noqa: F401
        except ImportError:  # pragma: no cover - numpy is a dependency of the library
            pass
    runner = Runner(first["nonce"])
    runner.respond({"ready": True, "uid": os.getuid()})
    runner.serve(lines)


if __name__ == "__main__":
    main()
