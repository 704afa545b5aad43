"""Sandbox bootstrap: trusted code that prepares the jail, then becomes the student's runner.

Run (by :mod:`dscourse.grading.sandbox`) as ``python -I -S bootstrap.py CONFIG_JSON`` inside
fresh network, mount, PID, IPC, UTS and cgroup namespaces (``unshare``), still privileged.
It builds a tiny root file system on a tmpfs (the Python installation, ``/usr`` and numpy
read-only, with every installed-packages folder covered by an empty tmpfs; an empty writable
``/work``), ``chroot``s into it, sets resource limits, drops to the unprivileged
uid, and runs the runner in the same interpreter. Standard library only; no student code has run yet.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1


def main() -> None:
    cfg = json.loads(sys.argv[1])
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in cfg["fds"]]          # move the two pipes to fds 3 and 4
    for fd in cfg["fds"]:
        os.close(fd)
    for target, fd in zip((3, 4), high, strict=True):
        os.dup2(fd, target, inheritable=True)
        os.close(fd)
    if cfg["jail"]:
        jail(cfg)
    limits(cfg)
    if cfg.get("uid") is not None:
        os.setgroups([])
        os.setgid(cfg["gid"])
        os.setuid(cfg["uid"])
    if cfg["jail"]:
        # Changing credentials cleared the parent-death signal that `unshare --kill-child`
        # set; re-arm it, so that when `unshare` dies (killed at the timeout, or with the
        # grader) this process, PID 1 of the namespace, dies and takes every descendant along,
        # even one that left the process group with setsid().
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.chdir(cfg["cwd"])
    env = {"PATH": "/usr/bin:/bin", "HOME": cfg["cwd"], "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    os.environ.clear()
    os.environ.update(env)
    # Become the runner in this interpreter (no second interpreter start-up per sandbox).
    sys.argv = [cfg["runner"], *cfg["pypath"]]
    del cfg
    import runpy
    runpy.run_path(sys.argv[0], run_name="__main__")


def jail(cfg: dict) -> None:
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(src, dst, fstype, flags, data=None):
        def enc(s):
            return s.encode() if s is not None else None

        if libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {src} on {dst}: {os.strerror(err)}")

    root = cfg["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['tmpfs_mb']}m,mode=755")
    for src, dst in cfg["binds"]:
        target = root + dst
        if os.path.isdir(src):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        mount(src, target, None, MS_BIND | MS_REC)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_REC)
    for path in cfg.get("hide", []):            # installed packages: an empty, read-only tmpfs
        target = root + path
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
    for link, to in cfg["symlinks"]:
        os.symlink(to, root + link)
    work = root + cfg["cwd"]
    os.makedirs(work, exist_ok=True)
    for name, host_path in cfg["files"].items():
        shutil.copyfile(host_path, os.path.join(work, name))
    if cfg.get("uid") is not None:
        for path in [work, *(os.path.join(work, n) for n in cfg["files"])]:
            os.chown(path, cfg["uid"], cfg["gid"])
    os.chmod(work, 0o700)
    os.chroot(root)


def limits(cfg: dict) -> None:
    for name, value in cfg["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))


if __name__ == "__main__":
    main()
