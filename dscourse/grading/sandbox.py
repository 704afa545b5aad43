"""The grading sandbox: one isolated child process that runs a student's answer cells.

Isolation levels (chosen by :func:`detect`, or forced with ``isolation=``):

``full`` (running as root)
    ``unshare`` gives the child fresh network (no interfaces but a downed loopback), mount,
    PID, IPC, UTS and cgroup namespaces; the bootstrap builds a tmpfs root holding only the
    Python installation (its ``site-packages`` hidden), ``/usr`` (every ``*-packages`` folder
    hidden) and numpy, read-only, and an empty ``/work``; ``chroot``s into it; and drops to a
    fresh unprivileged uid (one per sandbox), so the child can see neither the master
    notebook, any copy of the library, the other submissions nor the network. The whole
    sandbox is killed by construction: ``cgroup.kill`` on a cgroup of its own when cgroup v2
    is writable, else SIGKILL to its PID namespace's init (by host pid), then every process
    of its uid.
``userns`` (not root, user namespaces allowed)
    The same jail inside a user namespace; the child keeps the mapped uid (no privilege drop).
``none``
    Only a temporary working folder, ``python -I``, a clean environment, resource limits and
    a process group: the child *can* read files your user can read and use the network.

Every level sets CPU, address-space, file-size, process-count and open-file limits and runs
the child in its own process group, killed when its time budget runs out. The child speaks
only JSON over two inherited non-blocking pipes, every read and write bounded by the time
budget, every response tagged with a per-run nonce and a sequence number, size-capped and
parsed under a guard (a deeply nested line is a crash, not a grader error).
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import select
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from ..errors import allowed
from .rules import REFUSABLE

RUNTIME = Path(__file__).with_name("runtime")
ISOLATIONS = ("auto", "full", "userns", "none")
UID_BASE = 2_147_400_000          # far above any real account
UID_SLOT_SPAN = 1 << 20           # slot s draws fresh uids from [base + s*span, base + (s+1)*span)
UID_SLOTS = 64
NOGROUP = 65534
MAX_LINE = 8 << 20
MAX_ACTIONS = 200_000     # sends, timers, ... applied in the parent per sandbox (honest: < 40k)
MAX_BYTES = 256 << 20     # bytes read from all children of one submission (honest: < 20 MiB)
START_LIMIT = 30          # seconds a sandbox may take to start (the grader's code, not charged)
PARENT_FACTOR = 4         # the parent's own work for one exercise is capped at 4 x timeout
#: A child is charged the CPU time it used (its cgroup's, or its own process's), so a loaded
#: machine does not turn a correct submission into a timeout; a child that sleeps or is starved
#: still ends after this many times its budget of wall-clock waiting.
WALL_FACTOR = 3
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
MAX_BLOCKED = 4           # blocked-import names kept per sandbox
MODULE_NAME = re.compile(r"^dscourse(\.[a-z_][a-z0-9_]{0,40}){1,3}$")
NAMESPACES = ["--net", "--mount", "--pid", "--ipc", "--uts", "--cgroup", "--fork"]
CGROUP_PREFIX = "dscourse-grade-"
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode   # built once
#: Where orjson may read a line differently from ``json.loads``: a number of 19 or more digits
#: (orjson reads an integer beyond 64 bits as a float) and nesting ``json.loads`` refuses
#: (Python's recursion limit, about 1000, against orjson's 1024).
_LONG_NUMBER = re.compile(rb"\d{19}")
FAST_NESTING = 900


def parse_line(line: bytes) -> Any:
    """``json.loads(line)``, exactly, about five times faster: orjson (a strict RFC 8259 parser
    in Rust, safe on untrusted input) reads the line unless it could differ (see
    ``_LONG_NUMBER``); anything orjson refuses (NaN, lone surrogates, other encodings) is read
    by ``json.loads``, which accepts or refuses it as before. Raises what ``json.loads`` does."""
    if not _LONG_NUMBER.search(line) and line.count(b"[") + line.count(b"{") < FAST_NESTING:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return json.loads(line)


def encode_line(payload: Any) -> bytes:
    """One request line: ``payload`` as JSON and a newline (orjson; ``json`` for what orjson
    cannot write, such as integers beyond 64 bits in a node's random state). Requests are the
    parent's own data: their floats are finite (times; a handler's arguments are tagged by
    ``wire.encode``)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return _ENCODE(payload).encode() + b"\n"


class ChildError(Exception):
    """The child did not answer properly; ``status`` is ``"timeout"`` or ``"crashed"``."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Budget:
    """What the children grading one exercise may cost. Each child may keep the parent
    waiting ``timeout`` seconds, or, where its CPU time can be read, use ``timeout`` CPU seconds
    within ``WALL_FACTOR`` x ``timeout`` of waiting (:meth:`Child._left`; a child is one node
    instance, as a sandbox was one exercise before); shared by all: the parent's own work
    (``PARENT_FACTOR`` x timeout of the parent's CPU time from ``born_cpu``), actions applied,
    and bytes read (``quota``: a one-item list shared by every exercise of a submission)."""

    def __init__(self, timeout: float, quota: list[int] | None = None) -> None:
        self.timeout = float(timeout)
        self.spent = 0.0
        self.born = time.monotonic()
        self.born_cpu = time.process_time()      # the parent's cap is on its own CPU time
        self.actions = 0
        self.quota = quota if quota is not None else [MAX_BYTES]


def _unshare_works(args: list[str]) -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(["unshare", *args, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


_DETECTED: dict[str, Any] = {}


def detect() -> str:
    """The strongest isolation this machine allows: ``full``, ``userns`` or ``none``."""
    if "mode" not in _DETECTED:
        if os.geteuid() == 0 and _unshare_works(NAMESPACES):
            _DETECTED["mode"] = "full"
        elif _unshare_works(["--user", "--map-root-user", *NAMESPACES]):
            _DETECTED["mode"] = "userns"
        else:
            _DETECTED["mode"] = "none"
    return _DETECTED["mode"]


def cgroup_base() -> str | None:
    """A writable cgroup v2 folder (ours) where sandboxes get cgroups of their own, or None."""
    if "cgroup" not in _DETECTED:
        _DETECTED["cgroup"] = _find_cgroup()
    return _DETECTED["cgroup"]


def _find_cgroup() -> str | None:
    try:
        mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
        own = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.startswith("0::"))
    except (OSError, StopIteration):
        return None
    for fields in mounts:
        if len(fields) > 2 and fields[2] == "cgroup2":
            base = fields[1] + own.rstrip("/")
            probe = os.path.join(base, f"{CGROUP_PREFIX}probe-{os.getpid()}")
            try:
                os.mkdir(probe)
                ok = os.path.exists(os.path.join(probe, "cgroup.kill"))
                os.rmdir(probe)
            except OSError:
                continue
            if ok:
                return base
    return None


def kill_cgroup(path: str) -> bool:
    """Kill every process in the cgroup ``path`` (and its descendants), then remove it; True
    once the cgroup is seen empty (every process of it is gone)."""
    try:
        Path(path, "cgroup.kill").write_text("1")
    except OSError:
        return False
    empty = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if "populated 0" in Path(path, "cgroup.events").read_text():
                empty = True
                break
        except OSError:
            break
        time.sleep(0.005)
    try:
        os.rmdir(path)
    except OSError:
        pass
    return empty


def slot_uids(slot: int) -> range:
    """The uids sandboxes of worker slot ``slot`` draw from (fresh per sandbox)."""
    start = UID_BASE + (slot % UID_SLOTS) * UID_SLOT_SPAN
    return range(start, start + UID_SLOT_SPAN)


def batch_processes(uids: range | set[int], supervisor: int) -> list[int]:
    """Live processes of ``uids`` in sandboxes started by workers of ``supervisor`` (every one,
    when cgroups are not used: then they cannot be told apart)."""
    if cgroup_base() is None:
        return processes_of(uids)
    mark = f"/{CGROUP_PREFIX}{supervisor}-".encode()
    out = []
    for pid in processes_of(uids):
        try:
            with open(f"/proc/{pid}/cgroup", "rb") as fh:
                if mark in fh.read():
                    out.append(pid)
        except OSError:
            continue
    return out


def processes_of(uids: range | set[int]) -> list[int]:
    """Host pids of live (not zombie) processes whose real uid is in ``uids``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"State:") and line.split()[1] in (b"Z", b"X"):
                        break                               # dead, only waiting to be reaped
                    if line.startswith(b"Uid:"):
                        if int(line.split()[1]) in uids:
                            pids.append(int(entry))
                        break
        except (OSError, ValueError, IndexError):
            continue
    return pids


def kill_uids(uids: range | set[int], wait: float = 5.0) -> None:
    """SIGKILL every process of ``uids`` until none is left (or ``wait`` seconds passed)."""
    deadline = time.monotonic() + wait
    while True:
        pids = processes_of(uids)
        if not pids or time.monotonic() > deadline:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)


#: Scan ``/proc`` for every fresh uid and after every kill even when a cgroup killed the
#: sandbox (the behaviour before issue 23; ``benchmarks/bench_grading.py`` sets it to measure
#: what the scans cost). Without cgroups the scans always run.
SCAN_UIDS = False
_LIVE_UIDS: set[int] = set()     # uids of this process's sandboxes that may still have processes


def _fresh_uid(slot: int) -> int:
    """A uid no live process has. With cgroups every sandbox's processes are confirmed dead when
    it is closed, so only this process's own live sandboxes can hold a uid of this slot (one
    worker grades a slot at a time): no ``/proc`` scan is needed. Without them, scan."""
    uids = slot_uids(slot)
    while True:
        uid = uids.start + secrets.randbelow(len(uids))
        if uid in _LIVE_UIDS:
            continue
        if (cgroup_base() is not None and not SCAN_UIDS) or not processes_of({uid}):
            _LIVE_UIDS.add(uid)
            return uid


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


def remove_tree(top: str) -> None:
    """``rm -rf --one-file-system top`` without a process: nothing on another file system (a
    mount that should have stayed in the sandbox's namespace) is entered or removed."""
    try:
        dev = os.lstat(top).st_dev
    except OSError:
        return
    for dirpath, dirnames, filenames in os.walk(top, topdown=True):
        keep = []
        for d in dirnames:
            try:
                if os.lstat(os.path.join(dirpath, d)).st_dev == dev:
                    keep.append(d)
            except OSError:
                continue
        dirnames[:] = keep
        for f in filenames:
            try:
                os.unlink(os.path.join(dirpath, f))
            except OSError:
                pass
    for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count(os.sep)):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def _python() -> str:
    """The real interpreter (not the venv's symlink: the jail has no venv)."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _package_dirs() -> list[str]:
    """The package folders the child may import besides the standard library, read-only:
    numpy (a node's ``rng``) and orjson (the child's own JSON lines, see ``runner._dumps``)."""
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency
        return []
    pkg = os.path.dirname(numpy.__file__)
    dirs = [pkg]
    libs = pkg + ".libs"
    if os.path.isdir(libs):
        dirs.append(libs)
    dirs.append(os.path.dirname(orjson.__file__))
    return dirs


def hidden_dirs(roots: list[str]) -> list[str]:
    """Folders under the jail's read-only ``roots`` that hold installed packages (where a copy
    of ``dscourse`` could be): every ``site-packages``/``dist-packages`` and user site."""
    found: set[str] = set()
    patterns = ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages",
                "local/lib/python3*/site-packages", "local/lib/python3*/dist-packages",
                "lib64/python3*/site-packages", "share/pyshared")
    for root in roots:
        for pat in patterns:
            found.update(glob.glob(os.path.join(root, pat)))
    extra = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    extra.append(site.getusersitepackages())
    for path in extra:
        real = os.path.realpath(path)
        if any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
            found.add(real)
    return sorted(p for p in (os.path.realpath(f) for f in found) if os.path.isdir(p))


class Child:
    """One sandboxed runner. Use as a context manager; :meth:`request` sends one call.

    ``timeout`` is the child's budget in seconds, counted only while the parent waits for it
    (answering calls; starting up and loading have their own limit), so the parent's own
    simulation work does not count against the student: once the waiting exceeds it, the
    child's own CPU time is what is charged (a loaded machine slows a child without making it
    time out), up to ``WALL_FACTOR`` x ``timeout`` of waiting (a child that sleeps); where its
    CPU time cannot be read, the waiting itself. The CPU rlimit backs it up. Children that grade the same
    exercise share one :class:`Budget` (pass ``budget``).
    """

    def __init__(self, *, timeout: float, isolation: str = "auto", slot: int = 0,
                 memory_mb: int = 1024, files: dict[str, str] | None = None,
                 budget: Budget | None = None, numpy: bool = False) -> None:
        if isolation not in ISOLATIONS:
            raise allowed("isolation", isolation, f"one of {ISOLATIONS}")
        self.mode = detect() if isolation == "auto" else isolation
        self.budget = budget if budget is not None else Budget(timeout)
        self.timeout = self.budget.timeout
        self.spent = 0.0                  # seconds the parent waited for this child
        self.free_cpu = 0.0               # its CPU seconds while starting and loading (not charged)
        self.slot = slot
        self.memory_mb = memory_mb
        self.files = files or {}
        self.numpy = numpy                # import numpy at start-up (else on a node's first rng use)
        self.nonce = secrets.token_hex(16)
        self.seq = 0
        self.last_size = 0                # bytes of the last response line (see remote._apply)
        self.proc: subprocess.Popen | None = None
        self.tmp: str | None = None
        self.cgroup: str | None = None
        self.uid: int | None = None
        self._buf = bytearray()
        self.blocked: set[str] = set()
        self.refused: set[str] = set()      # forbidden modules the answer tried (rules.py)

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
        """Start the sandbox and wait until it is ready."""
        self.launch()
        self.ready()

    def ready(self) -> None:
        """Wait for the answer to the hello :meth:`launch` sent. Start-up is the grader's own
        code, so it has its own limit (``START_LIMIT``) and is not charged to the student."""
        if self.receive(free=START_LIMIT).get("ready") is not True:
            raise self._fail("crashed", "the sandbox did not start")

    def launch(self) -> None:
        """Start the sandbox and send it hello, without waiting (so that several start at once)."""
        self.tmp = tempfile.mkdtemp(prefix="dscourse-grade-")
        rt = os.path.join(self.tmp, "rt")
        os.makedirs(os.path.join(rt, "pkgs", "dscourse"))
        shutil.copy(RUNTIME / "runner.py", rt)
        shutil.copy(RUNTIME / "wire.py", rt)
        shutil.copy(RUNTIME / "shim.py", os.path.join(rt, "pkgs", "dscourse", "__init__.py"))
        for dirpath, _, filenames in os.walk(rt):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)
        if self.mode == "full":
            self.uid = _fresh_uid(self.slot)
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        cfg = self._config([req_r, resp_w], rt)
        cmd = [_python(), "-I", "-S", str(RUNTIME / "bootstrap.py"), json.dumps(cfg)]
        if self.mode == "full":
            cmd = ["unshare", *NAMESPACES, "--kill-child", *cmd]
        elif self.mode == "userns":
            cmd = ["unshare", "--user", "--map-root-user", *NAMESPACES, "--kill-child", *cmd]
        if self.mode != "none" and shutil.which("setpriv"):
            cmd = ["setpriv", "--pdeathsig", "KILL", "--", *cmd]   # dies with the grader
        join = None
        base = cgroup_base() if self.mode != "none" else None
        if base is not None:
            # named by the supervising and the grading process, so a dead worker's sandboxes
            # can be found (and those of another batch running at the same time never touched)
            path = os.path.join(base, f"{CGROUP_PREFIX}{os.getppid()}-{os.getpid()}-{self.nonce[:12]}")
            try:
                os.mkdir(path)
                self.cgroup = path
                procs = os.path.join(path, "cgroup.procs")

                def join() -> None:               # in the child, before exec: born inside
                    with open(procs, "w") as fh:
                        fh.write("0")
            except OSError:
                self.cgroup = None
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(req_r, resp_w),
                                         env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                                         process_group=0, close_fds=True, preexec_fn=join)
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in (req_w, resp_r):
                os.close(fd)
            raise ChildError("crashed", f"the sandbox could not start: {exc}") from None
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.wfd, self.rfd = req_w, resp_r
        os.set_blocking(self.wfd, False)
        os.set_blocking(self.rfd, False)
        self.send({"op": "hello", "nonce": self.nonce, "numpy": self.numpy})

    def _config(self, fds: list[int], rt: str) -> dict:
        assert self.tmp is not None, "launch() makes the temp folder first"
        tmp = self.tmp
        jail = self.mode in ("full", "userns")
        cpu = int(self.timeout) + 2
        staged = os.path.join(tmp, "files")          # root-only: copied into the jail
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
            "uid": None, "gid": None, "hide": [],
        }
        if jail:
            prefix = os.path.realpath(sys.base_prefix)
            binds = [("/usr", "/usr"), (rt, "/rt")]
            roots = ["/usr"]
            if not prefix.startswith("/usr/"):
                binds.append((prefix, prefix))
                roots.append(prefix)
            for dev in ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"):
                if os.path.exists(dev):
                    binds.append((dev, dev))
            symlinks = []
            for top in ("/bin", "/lib", "/lib64", "/lib32", "/libx32"):
                if os.path.islink(top):
                    symlinks.append((top, os.readlink(top)))
                elif os.path.isdir(top):
                    binds.append((top, top))
                    roots.append(top)
            pypath = []
            for d in _package_dirs():
                binds.append((d, "/py/" + os.path.basename(d)))
                pypath = ["/py"]
            cfg.update(root=os.path.join(tmp, "root"), binds=binds, symlinks=symlinks,
                       cwd="/work", runner="/rt/runner.py", pypath=pypath, hide=hidden_dirs(roots))
            os.makedirs(cfg["root"])
            if self.mode == "full":
                cfg.update(uid=self.uid, gid=NOGROUP)
        else:
            work = os.path.join(tmp, "work")
            os.makedirs(work)
            for name, text in self.files.items():
                Path(work, name).write_text(text, encoding="utf-8")
            dirs = _package_dirs()
            cfg.update(cwd=work, runner=os.path.join(rt, "runner.py"),
                       pypath=sorted({os.path.dirname(d) for d in dirs}))
        return cfg

    def close(self) -> None:
        if self.proc is not None:
            self.kill()
            for fd in (self.wfd, self.rfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None
        if self.cgroup is not None:
            kill_cgroup(self.cgroup)
            self.cgroup = None
        if self.tmp is not None:
            remove_tree(self.tmp)
            self.tmp = None

    def kill(self) -> None:
        """Kill the whole sandbox: its cgroup (``cgroup.kill``) when it has one, else its PID
        namespace's init by host pid (which takes the namespace along) and its process group;
        then every process of its uid, even one that escaped both."""
        if self.proc is None:
            return
        emptied = False
        if self.cgroup is not None:
            emptied = kill_cgroup(self.cgroup)
            self.cgroup = None
        elif self.mode != "none":
            for pid in _children_of(self.proc.pid):      # unshare's child: the namespace's init
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        if self.uid is not None:
            if not emptied or SCAN_UIDS:     # a cgroup seen empty held every process of the uid
                kill_uids({self.uid})
            _LIVE_UIDS.discard(self.uid)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- the channel -----------------------------------------------------------------------------
    def request(self, payload: dict) -> dict:
        """Send one request and return the child's (validated) response."""
        return self._exchange(payload)

    def _how(self) -> str:
        """`` (killed by signal N)`` or `` (exit code N)`` once the sandbox has ended."""
        try:
            code = self.proc.wait(timeout=1) if self.proc is not None else None
        except subprocess.TimeoutExpired:
            return ""
        if code is None:
            return ""
        return f" (killed by signal {-code})" if code < 0 else f" (exit code {code})"

    def _fail(self, status: str, reason: str) -> ChildError:
        self.kill()
        return ChildError(status, reason)

    def _exchange(self, payload: dict) -> dict:
        self.send(payload)
        return self.receive()

    def send(self, payload: dict) -> None:
        """Write one request (requests may be pipelined; :meth:`receive` answers in order)."""
        if self.proc is None:
            raise ChildError("crashed", "the sandbox is not running")
        b = self.budget
        if time.process_time() - b.born_cpu > PARENT_FACTOR * b.timeout:
            raise self._fail("timeout", f"grading this exercise took over {PARENT_FACTOR} x "
                                        f"{b.timeout:g} s (the node made the simulation huge)")
        if b.actions > MAX_ACTIONS:
            raise self._fail("timeout", f"the node took more than {MAX_ACTIONS} actions")
        data = encode_line(payload)
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.wfd, view):]
            except BlockingIOError:
                self._wait(self.wfd, write=True)
            except OSError:
                raise self._fail("crashed", "the submission's process exited") from None

    def receive(self, free: float | None = None) -> dict:
        """Read and validate the answer to the oldest request not yet answered. With ``free``,
        the wait is not charged to the budget but limited to ``free`` seconds of its own."""
        if self.proc is None:
            raise ChildError("crashed", "the sandbox is not running")
        before = self.cpu() if free is not None else None
        line = self._read_line(free)
        if before is not None:
            after = self.cpu()
            self.free_cpu += max(0.0, (after or before) - before)
        self.last_size = len(line)
        try:
            resp = parse_line(line)
        except (ValueError, RecursionError):
            raise self._fail("crashed", "the result channel carried something that is not "
                                        "valid JSON (or nested too deeply)") from None
        self.seq += 1
        if type(resp) is not dict or resp.get("n") != self.nonce or resp.get("i") != self.seq:
            raise self._fail("crashed", "the result channel was forged or out of order")
        blocked = resp.get("blocked")
        if type(blocked) is list:
            for name in blocked[:MAX_BLOCKED]:
                if len(self.blocked) < MAX_BLOCKED and type(name) is str and MODULE_NAME.fullmatch(name):
                    self.blocked.add(name)
        refused = resp.get("refused")
        if type(refused) is list:
            for name in refused[:MAX_BLOCKED]:
                if type(name) is str and name in REFUSABLE:
                    self.refused.add(name)
        return resp

    def _wait(self, fd: int, write: bool = False, free: float | None = None) -> None:
        b = self.budget
        if free is not None:
            r, _, _ = select.select([fd], [], [], free)
            if not r:
                raise self._fail("timeout", f"the sandbox did not start or load within {free:g} s")
            return
        while True:
            left = self._left()
            if left <= 0:
                raise self._fail("timeout", f"the submission ran past the {b.timeout:g} s limit")
            start = time.monotonic()
            try:
                r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], left)
            finally:
                waited = time.monotonic() - start
                self.spent += waited
                b.spent += waited
            if r or w:
                return

    def cpu(self) -> float | None:
        """CPU seconds the sandbox has used: its cgroup's (every process in it), else, without
        a jail, its own process's; None when neither can be read (then wall clock is charged)."""
        try:
            if self.cgroup is not None:
                with open(os.path.join(self.cgroup, "cpu.stat"), "rb") as fh:
                    for line in fh:
                        if line.startswith(b"usage_usec "):
                            return int(line.split()[1]) / 1e6
                return None
            if self.mode == "none" and self.proc is not None:
                with open(f"/proc/{self.proc.pid}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, ValueError, IndexError):
            return None
        return None

    def _left(self) -> float:
        """Seconds the parent may still wait before looking again: the budget minus the CPU the
        child was charged (start-up and loading excluded), within ``WALL_FACTOR`` x the budget
        of waiting; wall clock (the waiting itself) when its CPU cannot be read."""
        timeout = self.budget.timeout
        if self.spent < timeout:          # within budget even if all the waiting was its CPU
            return timeout - self.spent
        used = self.cpu()
        wall_left = WALL_FACTOR * timeout - self.spent
        if used is None or wall_left <= 0 or used - self.free_cpu >= timeout:
            return 0.0
        return min(max(timeout - (used - self.free_cpu), 0.01), wall_left)

    def _read_line(self, free: float | None = None) -> bytes:
        start = 0
        while (end := self._buf.find(b"\n", start)) < 0:
            start = len(self._buf)
            self._wait(self.rfd, free=free)
            try:
                chunk = os.read(self.rfd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                raise self._fail("crashed", f"the submission's process exited{self._how()}")
            self.budget.quota[0] -= len(chunk)
            if self.budget.quota[0] < 0:
                raise self._fail("timeout", f"the submission sent more than {MAX_BYTES >> 20} MiB "
                                            "to the grader")
            self._buf.extend(chunk)
            if len(self._buf) > MAX_LINE:
                raise self._fail("crashed", "the submission sent an oversized response")
        line = bytes(self._buf[:end])
        del self._buf[:end + 1]
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
