"""What a protocol answer may not use: randomness and time outside the simulation.

Every failure a student sees must replay from its seed (curriculum: "the grader fails any
submission that imports random"). A protocol node draws randomness from ``self.rng`` (its
named, seeded stream) and reads time from ``self.now`` / ``self.clock()`` (virtual time);
``random``, ``time``, ``datetime``, ``secrets``, ``os.urandom``, ``numpy.random``, threads and
sockets would make a run depend on the machine. :func:`breaches` finds them in an answer
cell's source without running it (the trusted grader and ``check()`` both use it); the
sandbox refuses the same imports at run time (``runtime/runner.py``), for code that hides
them from this check.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

#: module (top-level name) -> what to use instead
FORBIDDEN_MODULES: dict[str, str] = {
    "random": "draw from self.rng, the node's seeded random stream",
    "secrets": "draw from self.rng, the node's seeded random stream",
    "time": "read virtual time from self.now (or self.clock() for the node's own clock)",
    "datetime": "read virtual time from self.now (or self.clock() for the node's own clock)",
    "threading": "use timers (self.set_timer) instead of threads",
    "_thread": "use timers (self.set_timer) instead of threads",
    "concurrent": "use timers (self.set_timer) instead of threads",
    "multiprocessing": "use timers (self.set_timer) instead of processes",
    "asyncio": "use timers (self.set_timer) and messages instead of asyncio",
    "socket": "send messages with self.send (the simulated network)",
    "socketserver": "send messages with self.send (the simulated network)",
    "ssl": "send messages with self.send (the simulated network)",
}
#: (module, attribute) pairs refused besides whole modules
FORBIDDEN_ATTRIBUTES: dict[tuple[str, str], str] = {
    ("os", "urandom"): "draw from self.rng, the node's seeded random stream",
    ("os", "getrandom"): "draw from self.rng, the node's seeded random stream",
    ("numpy", "random"): "draw from self.rng (a numpy Generator already seeded for the node)",
}
#: every name the sandbox may report as refused (the parent accepts no other)
REFUSABLE = frozenset(FORBIDDEN_MODULES) | {f"{m}.{a}" for m, a in FORBIDDEN_ATTRIBUTES}


@dataclass(frozen=True)
class Breach:
    """One use of something a protocol answer may not use: ``line`` of the cell, ``name``
    (``random``, ``os.urandom``) and what to use instead."""

    line: int
    name: str
    instead: str

    def message(self, exercise: str) -> str:
        return (f"line {self.line} of the answer cell of {exercise} uses {self.name}, which a "
                f"protocol answer may not use (its runs must replay from their seed): {self.instead}")


def _module(name: str, line: int) -> Breach | None:
    top = name.split(".")[0]
    if top in FORBIDDEN_MODULES:
        return Breach(line, top, FORBIDDEN_MODULES[top])
    parts = name.split(".")
    if len(parts) > 1 and (parts[0], parts[1]) in FORBIDDEN_ATTRIBUTES:
        return Breach(line, f"{parts[0]}.{parts[1]}", FORBIDDEN_ATTRIBUTES[(parts[0], parts[1])])
    return None


def breaches(source: str) -> list[Breach]:
    """Every forbidden import or use in ``source``, in line order (none if it does not parse:
    a syntax error is reported on its own)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    aliases: dict[str, str] = {}            # local name -> module it stands for
    found: list[Breach] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (b := _module(alias.name, node.lineno)) is not None:
                    found.append(b)
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                    alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if (b := _module(node.module, node.lineno)) is not None:
                found.append(b)
                continue
            for alias in node.names:
                if (b := _module(f"{node.module}.{alias.name}", node.lineno)) is not None:
                    found.append(b)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module") and \
                    (b := _module(node.args[0].value, node.lineno)) is not None:
                found.append(b)
    for node in ast.walk(tree):                     # os.urandom(...), np.random.random()
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module is not None and (b := _module(f"{module}.{node.attr}", node.lineno)) is not None:
                found.append(b)
    unique = {(b.line, b.name): b for b in found}
    return [unique[k] for k in sorted(unique)]


def is_protocol(source: str) -> bool:
    """Whether an answer cell defines a protocol node: a class whose base is ``ds.sim.Node``
    (or ``sim.Node``, ``Node``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                text = ast.unparse(base)
                if text == "Node" or text.endswith(".Node"):
                    return True
    return False


def syntax_error(source: str) -> tuple[int, str] | None:
    """``(line, message)`` of the first syntax error in ``source``, or None."""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return exc.lineno or 0, exc.msg or "invalid syntax"
    except ValueError as exc:                     # e.g. a null byte
        return 0, str(exc)[:100]
    return None
