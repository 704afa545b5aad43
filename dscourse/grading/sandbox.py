"""The grading sandbox: one isolated child process that runs a student's answer cells.

Isolation levels (chosen by :func:`detect`, or forced with ``isolation=``):

``full`` (running as root)
    ``unshare`` gives the child fresh network (no interfaces but a downed loopback), mount
    and PID namespaces; the bootstrap builds a tmpfs root holding only the Python
    installation, ``/usr`` and numpy (read-only) and an empty ``/work``; ``chroot``s into it;
    and drops to an unprivileged uid of its own (one per worker slot), so the child can see
    neither the master notebook, the library's reference solutions, the other submissions
    nor the network, and everything it forks dies with it.
``userns`` (not root, user namespaces allowed)
    The same jail inside a user namespace; the child keeps the mapped uid (no privilege drop).
``none``
    Only a temporary working folder, ``python -I``, a clean environment, resource limits and
    a process group: the child *can* read files your user can read and use the network.

Every level sets CPU, address-space, file-size, process-count and open-file limits and runs
the child in its own process group, killed when its time budget runs out. The child speaks
only JSON over two inherited pipes, every response tagged with a per-run nonce and a
sequence number.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import allowed

RUNTIME = Path(__file__).with_name("runtime")
ISOLATIONS = ("auto", "full", "userns", "none")
UID_BASE = 2_147_400_000          # far above any real account; one uid per worker slot
NOGROUP = 65534
MAX_LINE = 8 << 20
MAX_ACTIONS = 200_000     # sends, timers, ... applied in the parent per sandbox (honest: < 40k)
PARENT_FACTOR = 4         # the parent's own work for one sandbox is capped at 4 x timeout


class ChildError(Exception):
    """The child did not answer properly; ``status`` is ``"timeout"`` or ``"crashed"``."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _unshare_works(args: list[str]) -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(["unshare", *args, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


_DETECTED: dict[str, str] = {}


def detect() -> str:
    """The strongest isolation this machine allows: ``full``, ``userns`` or ``none``."""
    if "mode" not in _DETECTED:
        base = ["--net", "--mount", "--pid", "--fork"]
        if os.geteuid() == 0 and _unshare_works(base):
            _DETECTED["mode"] = "full"
        elif _unshare_works(["--user", "--map-root-user", *base]):
            _DETECTED["mode"] = "userns"
        else:
            _DETECTED["mode"] = "none"
    return _DETECTED["mode"]


def _python() -> str:
    """The real interpreter (not the venv's symlink: the jail has no venv)."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _numpy_dirs() -> list[str]:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency
        return []
    pkg = os.path.dirname(numpy.__file__)
    dirs = [pkg]
    libs = pkg + ".libs"
    if os.path.isdir(libs):
        dirs.append(libs)
    return dirs


class Child:
    """One sandboxed runner. Use as a context manager; :meth:`request` sends one call.

    ``timeout`` is the child's budget in wall-clock seconds, spent only while the parent waits
    for it (starting up, loading, answering calls), so the parent's own simulation work does
    not count against the student; the CPU rlimit backs it up.
    """

    def __init__(self, *, timeout: float, isolation: str = "auto", slot: int = 0,
                 memory_mb: int = 1024, files: dict[str, str] | None = None) -> None:
        if isolation not in ISOLATIONS:
            raise allowed("isolation", isolation, f"one of {ISOLATIONS}")
        self.mode = detect() if isolation == "auto" else isolation
        self.timeout = float(timeout)
        self.spent = 0.0
        self.born = time.monotonic()
        self.actions = 0          # actions the parent applied for this child (see remote.py)
        self.slot = slot
        self.memory_mb = memory_mb
        self.files = files or {}
        self.nonce = secrets.token_hex(16)
        self.seq = 0
        self.proc: subprocess.Popen | None = None
        self.tmp: str | None = None
        self._buf = b""
        self.blocked: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Child:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="dscourse-grade-")
        rt = os.path.join(self.tmp, "rt")
        os.makedirs(os.path.join(rt, "pkgs", "dscourse"))
        shutil.copy(RUNTIME / "runner.py", rt)
        shutil.copy(RUNTIME / "wire.py", rt)
        shutil.copy(RUNTIME / "shim.py", os.path.join(rt, "pkgs", "dscourse", "__init__.py"))
        for dirpath, dirnames, filenames in os.walk(rt):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        cfg = self._config([req_r, resp_w], rt)
        cmd = [_python(), "-I", "-S", str(RUNTIME / "bootstrap.py"), json.dumps(cfg)]
        if self.mode == "full":
            cmd = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", *cmd]
        elif self.mode == "userns":
            cmd = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork",
                   "--kill-child", *cmd]
        if self.mode != "none" and shutil.which("setpriv"):
            cmd = ["setpriv", "--pdeathsig", "KILL", "--", *cmd]   # dies with the grader
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(req_r, resp_w),
                                         env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                                         process_group=0, close_fds=True)
        except OSError as exc:
            for fd in (req_w, resp_r):
                os.close(fd)
            raise ChildError("crashed", f"the sandbox could not start: {exc}") from None
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.wfd, self.rfd = req_w, resp_r
        hello = self._exchange({"op": "hello", "nonce": self.nonce})
        if hello.get("ready") is not True:
            raise ChildError("crashed", "the sandbox did not start")

    def _config(self, fds: list[int], rt: str) -> dict:
        jail = self.mode in ("full", "userns")
        cpu = int(self.timeout) + 2
        staged = os.path.join(self.tmp, "files")          # root-only: copied into the jail
        os.makedirs(staged, mode=0o700)
        for name, text in self.files.items():
            if "/" in name or name.startswith("."):
                raise allowed("file name", name, "a plain file name")
            Path(staged, name).write_text(text, encoding="utf-8")
        cfg: dict[str, Any] = {
            "fds": fds, "jail": jail, "python": _python(), "tmpfs_mb": 64,
            "rlimits": {"RLIMIT_CPU": cpu, "RLIMIT_AS": self.memory_mb << 20,
                        "RLIMIT_FSIZE": 8 << 20, "RLIMIT_NPROC": 32, "RLIMIT_NOFILE": 64,
                        "RLIMIT_CORE": 0},
            "files": {name: os.path.join(staged, name) for name in self.files},
            "uid": None, "gid": None,
        }
        if jail:
            prefix = os.path.realpath(sys.base_prefix)
            binds = [("/usr", "/usr"), (rt, "/rt")]
            if not prefix.startswith("/usr/"):
                binds.append((prefix, prefix))
            for dev in ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"):
                if os.path.exists(dev):
                    binds.append((dev, dev))
            symlinks = []
            for top in ("/bin", "/lib", "/lib64", "/lib32", "/libx32"):
                if os.path.islink(top):
                    symlinks.append((top, os.readlink(top)))
                elif os.path.isdir(top):
                    binds.append((top, top))
            pypath = []
            for d in _numpy_dirs():
                binds.append((d, "/py/" + os.path.basename(d)))
                pypath = ["/py"]
            cfg.update(root=os.path.join(self.tmp, "root"), binds=binds, symlinks=symlinks,
                       cwd="/work", runner="/rt/runner.py", pypath=pypath)
            os.makedirs(cfg["root"])
            if self.mode == "full":
                cfg.update(uid=UID_BASE + self.slot, gid=NOGROUP)
        else:
            work = os.path.join(self.tmp, "work")
            os.makedirs(work)
            for name, text in self.files.items():
                Path(work, name).write_text(text, encoding="utf-8")
            dirs = _numpy_dirs()
            cfg.update(cwd=work, runner=os.path.join(rt, "runner.py"),
                       pypath=[os.path.dirname(dirs[0])] if dirs else [])
        return cfg

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.write(self.wfd, b'{"op":"bye"}\n')
                except OSError:
                    pass
                try:
                    self.proc.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
            self.kill()
            for fd in (self.wfd, self.rfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None
        if self.tmp is not None:
            subprocess.run(["rm", "-rf", "--one-file-system", self.tmp], check=False)
            self.tmp = None

    def kill(self) -> None:
        """Kill the child's whole process group (its PID namespace dies with it)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- the channel -----------------------------------------------------------------------------
    def request(self, payload: dict) -> dict:
        """Send one request and return the child's (validated) response."""
        return self._exchange(payload)

    def _exchange(self, payload: dict) -> dict:
        if self.proc is None:
            raise ChildError("crashed", "the sandbox is not running")
        if time.monotonic() - self.born > PARENT_FACTOR * self.timeout:
            self.kill()
            raise ChildError("timeout", f"grading this exercise took over {PARENT_FACTOR} x "
                                        f"{self.timeout:g} s (the node made the simulation huge)")
        if self.actions > MAX_ACTIONS:
            self.kill()
            raise ChildError("timeout", f"the node took more than {MAX_ACTIONS} actions")
        data = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        try:
            view = memoryview(data)
            while view:
                if len(view) > 4096:          # small requests fit in the pipe: no select
                    self._wait(self.wfd, write=True)
                view = view[os.write(self.wfd, view):]
        except (BrokenPipeError, OSError) as exc:
            if isinstance(exc, ChildError):
                raise
            raise ChildError("crashed", "the submission's process exited") from None
        line = self._read_line()
        try:
            resp = json.loads(line)
        except ValueError:
            raise ChildError("crashed", "the result channel carried something that is not JSON") from None
        self.seq += 1
        if type(resp) is not dict or resp.get("n") != self.nonce or resp.get("i") != self.seq:
            raise ChildError("crashed", "the result channel was forged or out of order")
        blocked = resp.get("blocked")
        if type(blocked) is list:
            for name in blocked[:20]:
                if type(name) is str and name not in self.blocked:
                    self.blocked.append(name[:200])
        return resp

    def _wait(self, fd: int, write: bool = False) -> None:
        left = self.timeout - self.spent
        if left <= 0:
            self.kill()
            raise ChildError("timeout", f"the submission ran past the {self.timeout:g} s limit")
        start = time.monotonic()
        r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], left)
        self.spent += time.monotonic() - start
        if not (r or w):
            self.kill()
            raise ChildError("timeout", f"the submission ran past the {self.timeout:g} s limit")

    def _read_line(self) -> bytes:
        while b"\n" not in self._buf:
            self._wait(self.rfd)
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                self.kill()
                raise ChildError("crashed", "the submission's process exited")
            self._buf += chunk
            if len(self._buf) > MAX_LINE:
                self.kill()
                raise ChildError("crashed", "the submission sent an oversized response")
        line, self._buf = self._buf.split(b"\n", 1)
        return line


def self_test(isolation: str = "auto") -> str:
    """Start a trivial child and return the isolation used; a ``ConfigError`` if it fails."""
    from ..errors import ConfigError

    try:
        with Child(timeout=20, isolation=isolation) as child:
            loaded = child.request({"op": "load", "cells": [["E0.0", "x = 1"]], "names": ["x"]})
            if loaded.get("names") != {"x": "other"}:
                raise ChildError("crashed", "the sandbox answered wrongly")
            return child.mode
    except ChildError as exc:
        raise ConfigError(f"the grading sandbox does not work here (isolation "
                          f"{isolation!r}): {exc.reason}; see docs/grading.md") from None
