"""Generated histories for testing linearizability checkers (test data, not checking).

:func:`random_register_history` feeds exercise E3.1 (write your own checker; its tests
compare it with :func:`dscourse.checkers.linearizability.check`) and the checker's own tests.
"""

from __future__ import annotations

import numpy as np

from ..errors import allowed
from .models import Operation


def random_register_history(seed: int, n_ops: int = 10, *, clients: int = 4, values: int = 3,
                            span: float = 40.0, corrupt: float = 0.3) -> list[Operation]:
    """A random completed read/write register history, for testing checkers (exercise E3.1).

    Each of ``clients`` clients runs operations one after another, each lasting a random time
    in a window of ``span`` ms, so operations of different clients overlap. Outputs come from
    a real sequential run (one linearization point inside each interval), so the history is
    linearizable, unless, with probability ``corrupt``, one read's output is replaced by
    another value (which usually, not always, makes it illegal). Written values are drawn
    from ``1..values`` (few values: adversarial, many orders explain a read).
    """
    if isinstance(n_ops, bool) or not isinstance(n_ops, int) or n_ops < 0:
        raise allowed("n_ops", n_ops, "an int >= 0")
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise allowed("clients", clients, "an int >= 1")
    rng = np.random.default_rng([seed, 0xE31])
    free = [0.0] * clients
    raw = []
    for _ in range(n_ops):
        c = int(rng.integers(clients))
        call = free[c] + float(rng.integers(0, 4))
        ret = call + float(rng.integers(1, int(span // 4) + 2))
        point = float(rng.uniform(call, ret))
        free[c] = ret
        inp = ("read", None) if rng.random() < 0.5 else ("write", int(rng.integers(1, values + 1)))
        raw.append((point, c, call, ret, inp))
    state, out = None, []
    for _point, c, call, ret, inp in sorted(raw, key=lambda r: r[0]):
        if inp[0] == "write":
            state = inp[1]
            out.append(Operation(c, call, ret, inp, None))
        else:
            out.append(Operation(c, call, ret, inp, state))
    reads = [i for i, op in enumerate(out) if op.input[0] == "read"]
    if reads and rng.random() < corrupt:
        i = reads[int(rng.integers(len(reads)))]
        old = out[i]
        choices = [v for v in [None, *range(1, values + 1)] if v != old.output]
        out[i] = Operation(old.client, old.call, old.ret, old.input, choices[int(rng.integers(len(choices)))])
    out.sort(key=lambda op: (op.call, op.ret, str(op.client)))
    return out
