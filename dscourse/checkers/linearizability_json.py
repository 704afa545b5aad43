"""Histories as JSON, for other checkers (``benchmarks/porcupine`` feeds them to Porcupine).

The format (``"format": "dscourse-linearizability/1"``)::

    {"format": ..., "model": "register" | "cas_register" | "kv",
     "operations": [{"client": 0, "call": 0, "ret": 3 | null, "input": ["put", "k", "v"],
                     "output": null, "unknown": false}, ...]}

``client`` numbers the clients in order of first appearance. ``call`` and ``ret`` are the
ranks of the operation's instants among all the history's distinct instants: only their
order matters to linearizability, equal instants stay equal (so operations that touch at an
instant stay concurrent) and every checker reads integers. ``ret`` is ``null`` for an
operation that never returned. Inputs are lists (a cas's ``(old, new)`` flattened:
``["cas", old, new]``); ``unknown`` is true for an output of :data:`~.models.UNKNOWN`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from ..errors import allowed
from .models import UNKNOWN, Model, Operation, cas_register, kv, register

FORMAT = "dscourse-linearizability/1"
_MODELS = {"register": register, "cas_register": cas_register, "kv": kv}


def _flat_input(inp: Any) -> list[Any]:
    if type(inp) is tuple and inp[:1] == ("cas",):
        return ["cas", *inp[1]]
    if type(inp) is tuple and inp[:1] == ("read",):
        return ["read"]
    return list(inp)


def _tuple_input(inp: list[Any]) -> tuple[Any, ...]:
    if inp[:1] == ["cas"]:
        return ("cas", (inp[1], inp[2]))
    if inp == ["read"]:
        return ("read", None)
    return tuple(inp)


def dumps(operations: Iterable[Operation], model: Model) -> str:
    """The history as JSON text, for ``model`` (one of :func:`~.models.register`,
    :func:`~.models.cas_register`, :func:`~.models.kv`: other checkers know these three)."""
    if not isinstance(model, Model) or model.name not in _MODELS:
        raise allowed("model", model, f"a model named one of {sorted(_MODELS)}")
    ops = list(operations)
    for op in ops:
        if not isinstance(op, Operation):
            raise allowed("operation", op, "dscourse.checkers.linearizability.Operation instances")
    instants = sorted({op.call for op in ops} | {op.ret for op in ops if op.ret != math.inf})
    rank = {t: k for k, t in enumerate(instants)}
    clients: dict[Any, int] = {}
    rows = []
    for op in ops:
        unknown = op.output is UNKNOWN
        rows.append({"client": clients.setdefault(op.client, len(clients)), "call": rank[op.call],
                     "ret": None if op.ret == math.inf else rank[op.ret], "input": _flat_input(op.input),
                     "output": None if unknown else op.output, "unknown": unknown})
    return json.dumps({"format": FORMAT, "model": model.name, "operations": rows})


def loads(text: str) -> tuple[list[Operation], Model]:
    """A history written by :func:`dumps`: its operations (times are the ranks) and model."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise allowed("format", data.get("format") if isinstance(data, dict) else data, repr(FORMAT))
    if data.get("model") not in _MODELS:
        raise allowed("model", data.get("model"), f"one of {sorted(_MODELS)}")
    ops = [Operation(row["client"], float(row["call"]), math.inf if row["ret"] is None else float(row["ret"]),
                     _tuple_input(row["input"]), UNKNOWN if row["unknown"] else row["output"])
           for row in data["operations"]]
    return ops, _MODELS[data["model"]]()
