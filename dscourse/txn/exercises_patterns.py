"""Trusted harnesses for E14.3 (TCC with a fence table) and E14.4 (Saga with an outbox).

The student writes plain functions of plain data; the harness owns the stores, the network
and the nemesis (a small seeded event loop: the runs are short and need no node processes),
calls the functions, checks every result before use, and returns a
:class:`~dscourse.checkers.trial.Trial` whose one violation lists every failed case, with a
line that replays the run step by step in the student's notebook.

* E14.3 ``tcc(db, call) -> [db, ok]``: one TCC branch handler (Try, Confirm, Cancel) as one
  local transaction over a plain table ``{"accounts": {...}, "fence": {...}}`` (Seata's
  ``tcc_fence_log``: statuses tried / committed / rollbacked / suspended; Seata docs, "TCC
  mode", and ``TCCFenceHandler``). Transfers run with duplicated, lost and late messages
  (Cancel before Try) and a transaction manager that retries phase 2.
* E14.4 ``saga_next(steps, log)``, ``relay(rows)`` and ``consume(processed, message)``: an
  orchestrated Saga (Garcia-Molina & Salem, "Sagas", SIGMOD 1987: backward recovery) whose
  services publish their events through a transactional outbox (Richardson, *Microservices
  Patterns*, 2018, ch. 3, "Transactional messaging" with a polling publisher, and "Handling
  duplicate messages" with an idempotent consumer), under crash and loss nemeses.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..errors import ConfigError
from ..sim import stream
from .exercises_commit import _plain, _report

Fn = Callable[..., Any]


class _Loop:
    """A seeded event queue: (time ms, seq, what, data)."""

    def __init__(self) -> None:
        self.q: list[tuple[float, int, str, Any]] = []
        self.seq = 0
        self.now = 0.0
        self.log: list[str] = []

    def at(self, t: float, what: str, data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.q, (t, self.seq, what, data))

    def pop(self, until: float) -> tuple[str, Any] | None:
        if not self.q or self.q[0][0] > until:
            return None
        t, _, what, data = heapq.heappop(self.q)
        self.now = t
        return what, data

    def note(self, text: str) -> None:
        self.log.append(f"{self.now:7.1f} ms  {text}")


# == E14.3: TCC with a fence table ==============================================================
TCC_PROPERTIES = ("empty rollback", "hanging", "idempotent", "conserved", "no leak")
OPS = ("try", "confirm", "cancel")
FENCE_STATES = ("tried", "committed", "rollbacked", "suspended")
ACCOUNTS = ("A", "B")


def _tcc_call(tcc: Fn, db: dict[str, Any], call: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Call the handler on copies and check the table it returns."""
    res = tcc(_plain(db, "db"), dict(call))
    if type(res) not in (list, tuple) or len(res) != 2 or type(res[1]) is not bool:
        raise ConfigError(f"tcc(db, {call}) returned {str(res)[:80]}: expected [db, ok (a bool)]")
    new = _plain(res[0], "the db you returned")
    if type(new) is not dict or set(new) != {"accounts", "fence"} or type(new["fence"]) is not dict \
            or type(new["accounts"]) is not dict or set(new["accounts"]) != set(db["accounts"]):
        raise ConfigError(f"tcc(db, {call}) returned a db with keys {sorted(new) if type(new) is dict else new!r}: "
                          "expected the same table, {'accounts': {...the same accounts}, 'fence': {...}}")
    for name, row in new["accounts"].items():
        if type(row) is not dict or set(row) != {"balance", "frozen"} or not all(type(v) is int for v in row.values()):
            raise ConfigError(f"account {name} became {row!r}: expected {{'balance': int, 'frozen': int}}")
    if len(new["fence"]) > 500 or not all(v in FENCE_STATES for v in new["fence"].values()):
        raise ConfigError(f"the fence table holds {str(new['fence'])[:80]}: expected at most 500 rows, each "
                          f"status one of {FENCE_STATES}")
    return new, res[1]


def _empty_db(balance: int) -> dict[str, Any]:
    return {"accounts": {"A": {"balance": balance, "frozen": 0}}, "fence": {}}


def _scripted(tcc: Fn, seed: int, prop: str) -> list[str]:
    rng = stream(seed, f"E14.3/{prop}")
    amount = int(rng.integers(5, 50))
    failures = []
    for delta in (-amount, amount):
        side = "debit" if delta < 0 else "credit"
        call = {"xid": f"x{int(rng.integers(100, 999))}", "account": "A", "delta": delta}
        db = _empty_db(100)
        if prop == "empty rollback":
            db2, ok = _tcc_call(tcc, db, {**call, "op": "cancel"})
            if db2["accounts"] != db["accounts"] or not ok:
                failures.append(f"{side} of {abs(delta)}: Cancel with no Try before it (its Try was lost) gave "
                                f"ok={ok}, account {db2['accounts']['A']}; expected ok=True and the account "
                                "unchanged, {'balance': 100, 'frozen': 0} (an empty rollback)")
        else:
            db2, _ = _tcc_call(tcc, db, {**call, "op": "cancel"})
            db3, ok = _tcc_call(tcc, db2, {**call, "op": "try"})
            if db3["accounts"] != db["accounts"] or ok:
                failures.append(f"{side} of {abs(delta)}: Try arriving after its Cancel gave ok={ok}, account "
                                f"{db3['accounts']['A']}; expected ok=False and the account unchanged (the "
                                "reservation would hang: nobody will cancel it again)")
    return failures


def tcc_run(tcc: Fn, seed: int, transfers: int = 8, *, check_duplicates: bool = False,
            verbose: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Transfers between accounts A and B (one service each, 100 each) with a transaction
    manager: Try both branches; both ok -> Confirm both, else (a refusal or a 60 ms timeout)
    Cancel both, retrying phase 2 every 40 ms until it is acknowledged. Messages are lost
    (15%), duplicated (20%) or late (a Try 150-300 ms late: it arrives after its Cancel).
    Returns the final tables and the problems found (``verbose``: also the event log)."""
    rng = stream(seed, "E14.3/run")
    dbs = {a: {"accounts": {a: {"balance": 100, "frozen": 0}}, "fence": {}} for a in ACCOUNTS}
    loop = _Loop()
    problems: list[str] = []
    txs: dict[str, dict[str, Any]] = {}
    for i in range(transfers):
        src = ACCOUNTS[int(rng.integers(2))]
        dst = "B" if src == "A" else "A"
        amount = int(rng.integers(10, 70))
        xid = f"tx{i + 1}"
        txs[xid] = {"branches": {src: -amount, dst: amount}, "replies": {}, "phase": "try", "acked": set()}
        loop.at(float(i * 15), "begin", xid)

    def send(op: str, xid: str, account: str) -> None:
        r = rng.random()
        if r < 0.15:
            loop.note(f"{op} {xid}/{account} lost")
            return
        delay = float(rng.uniform(1, 20))
        if op == "try" and rng.random() < 0.2:
            delay += float(rng.uniform(150, 300))
        copies = 2 if rng.random() < 0.2 else 1
        for c in range(copies):
            loop.at(loop.now + delay + 3 * c, "deliver", (op, xid, account))

    while (ev := loop.pop(3000.0)) is not None:
        what, data = ev
        if what == "begin":
            for acct in txs[data]["branches"]:
                send("try", data, acct)
            loop.at(loop.now + 60, "timeout", data)
        elif what == "deliver":
            op, xid, acct = data
            call = {"op": op, "xid": xid, "account": acct, "delta": txs[xid]["branches"][acct]}
            before = dbs[acct]
            dbs[acct], ok = _tcc_call(tcc, before, call)
            loop.note(f"{op} {xid} on {acct} (delta {call['delta']}) -> ok={ok}, {dbs[acct]['accounts'][acct]}, "
                      f"fence {dbs[acct]['fence']}")
            if check_duplicates:
                again, ok2 = _tcc_call(tcc, dbs[acct], call)
                if again != dbs[acct] or ok2 != ok:
                    problems.append(f"{op} of {xid} on {acct} applied twice changed the table: "
                                    f"{dbs[acct]['accounts'][acct]} -> {again['accounts'][acct]}, ok {ok} -> {ok2}")
                    dbs[acct] = again
            if rng.random() < 0.15:
                continue                                   # the reply is lost
            t = txs[xid]
            if op == "try" and t["phase"] == "try":
                t["replies"][acct] = ok
                if len(t["replies"]) == 2:
                    loop.at(loop.now, "phase2", (xid, all(t["replies"].values())))
            elif op != "try" and ok and op == t["phase"]:
                t["acked"].add(acct)
        elif what == "timeout":
            t = txs[data]
            if t["phase"] == "try":
                loop.at(loop.now, "phase2", (data, False))
        elif what == "phase2":
            xid, commit = data
            t = txs[xid]
            if t["phase"] == "try":
                t["phase"] = "confirm" if commit else "cancel"
                loop.note(f"{xid}: {t['phase']} both branches")
                loop.at(loop.now, "retry", (xid, 0))
        elif what == "retry":
            xid, n = data
            t = txs[xid]
            pending = [a for a in t["branches"] if a not in t["acked"]]
            if pending and n < 25:
                for a in pending:
                    send(t["phase"], xid, a)
                loop.at(loop.now + 40, "retry", (xid, n + 1))
    total = sum(r["balance"] + r["frozen"] for d in dbs.values() for r in d["accounts"].values())
    conserved_ok = total == 100 * len(ACCOUNTS)
    frozen = {a: d["accounts"][a]["frozen"] for a, d in dbs.items()}
    state = {"total": total, "frozen": frozen, "dbs": dbs, "conserved": conserved_ok,
             "unfinished": sorted(x for x, t in txs.items() if len(t["acked"]) < 2)}
    return state, problems + (loop.log if verbose else [])


def tcc_trial(tcc: Fn, seed: int, *, runs: int = 6, properties: Iterable[str] = TCC_PROPERTIES) -> Trial:
    """E14.3: ``empty rollback`` and ``hanging`` on scripted calls; ``idempotent`` (every call
    applied twice in a row leaves the table and the answer as once), ``conserved`` (A + B,
    balances plus frozen amounts, is 200 at the end) and ``no leak`` (no frozen amount left,
    none negative) on ``runs`` nemesis runs."""
    props = selected(properties, TCC_PROPERTIES)
    trial = Trial(seed)
    failures: list[str] = []
    cases = 0
    first: str | None = None
    try:
        for p in ("empty rollback", "hanging"):
            if p in props:
                cases += 2
                found = [f"{p}: {f}" for f in _scripted(tcc, seed, p)]
                failures += found
        for r in range(runs if {"idempotent", "conserved", "no leak"} & set(props) else 0):
            s = seed * 100 + r
            cases += 1
            state, dup = tcc_run(tcc, s, check_duplicates="idempotent" in props)
            found = []
            if "idempotent" in props and dup:
                found.append(f"idempotent: {dup[0]}")
            if "conserved" in props and not state["conserved"]:
                found.append(f"conserved: A + B (balance + frozen) ended at {state['total']}, not 200")
            if "no leak" in props and any(state["frozen"].values()):
                found.append(f"no leak: frozen amounts left at the end: {state['frozen']}")
            if found:
                first = first or f"print(ds.txn.exercises.tcc_replay(tcc, seed={s}))"
                failures.append(f"run seed {s}: " + "; ".join(found))
    except ConfigError as exc:
        return trial.fail(f"unusable answer: {exc}")
    return _report(trial, failures, cases, "cases", first or "(a scripted case: the calls are listed above)")


def tcc_replay(tcc: Fn, seed: int) -> str:
    """The event log of one :func:`tcc_run` (what the failing case did, step by step)."""
    state, lines = tcc_run(tcc, seed, verbose=True)
    return "\n".join([*lines, f"end: total {state['total']}, frozen {state['frozen']}"])


# == E14.4: Saga + outbox =======================================================================
SAGA_PROPERTIES = ("outcome", "no phantom compensation", "published", "exactly once")
STEPS = ("payment", "inventory", "shipping")


def _check_next(res: Any, steps: tuple[str, ...], log: list[Any]) -> list[str]:
    r = _plain(res, "saga_next's answer")
    if type(r) is not list or len(r) != 2 or r[0] not in ("do", "undo", "done") or \
            (r[0] == "done" and r[1] not in ("completed", "compensated")) or (r[0] != "done" and r[1] not in steps):
        raise ConfigError(f"saga_next({list(steps)}, {log}) returned {str(res)[:80]}: expected ['do', step], "
                          "['undo', step] or ['done', 'completed' | 'compensated']")
    return r


def saga_run(saga_next: Fn, relay: Fn, consume: Fn, seed: int, orders: int = 5,
             verbose: bool = False) -> dict[str, Any]:
    """Orders o1.. each run the Saga ``STEPS`` (a step fails with probability 0.2); the
    orchestrator crashes twice (down 40-150 ms) and loses its volatile state; requests and
    replies are lost (20%); each service writes its row and an outbox row in one local
    transaction; the relay polls every 20 ms; the broker loses 20% of publishes and acks and
    redelivers to the consumer until it acks (duplicates); the consumer crashes once."""
    rng = stream(seed, "E14.4/run")
    loop = _Loop()
    fails = {(f"o{i + 1}", s): bool(rng.random() < 0.2) for i in range(orders) for s in STEPS}
    applied: dict[tuple[str, str], str] = {}      # service truth: "done" | "failed" | "undone"
    outbox: list[dict[str, Any]] = []
    broker: dict[str, dict[str, Any]] = {}         # received messages
    effects: dict[str, int] = {}
    processed: Any = []
    sagas: dict[str, dict[str, Any]] = {f"o{i + 1}": {"log": [], "done": None, "busy": False}
                                        for i in range(orders)}
    problems: dict[str, list[str]] = {p: [] for p in SAGA_PROPERTIES}
    down = {"orch": False}
    for o in sagas:
        loop.at(float(int(o[1:]) * 7), "drive", o)
    for _ in range(2):
        t = float(rng.uniform(10, 600))
        loop.at(t, "crash", "orch")
        loop.at(t + float(rng.uniform(40, 150)), "recover", "orch")
    ct = float(rng.uniform(50, 600))
    loop.at(ct, "crash", "consumer")
    loop.at(ct + float(rng.uniform(40, 150)), "recover", "consumer")
    loop.at(20.0, "poll", None)
    loop.at(25.0, "redeliver", None)
    consumer_down = False

    def lossy(p: float = 0.2) -> bool:
        return bool(rng.random() < p)

    while (ev := loop.pop(5000.0)) is not None:
        what, data = ev
        if what == "crash" and data == "orch":
            down["orch"] = True
            loop.note("orchestrator crashes")
        elif what == "recover" and data == "orch":
            down["orch"] = False
            loop.note("orchestrator recovers: re-reads each saga's log")
            for o, s in sagas.items():
                s["busy"] = False
                if s["done"] is None:
                    loop.at(loop.now, "drive", o)
        elif what == "crash":
            consumer_down = True
        elif what == "recover":
            consumer_down = False
        elif what == "drive":
            o = data
            s = sagas[o]
            if down["orch"] or s["done"] is not None or s["busy"]:
                continue
            nxt = _check_next(saga_next(list(STEPS), [list(r) for r in s["log"]]), STEPS, s["log"])
            loop.note(f"{o}: saga_next({s['log']}) -> {nxt}")
            if nxt[0] == "done":
                s["done"] = nxt[1]
                continue
            s["log"].append(list(nxt))
            s["busy"] = True
            s["attempt"] = s.get("attempt", 0) + 1
            if len(s["log"]) > 60:
                problems["outcome"].append(f"{o}: more than 60 saga steps, never done")
                s["done"] = "stuck"
                continue
            if not lossy():
                loop.at(loop.now + float(rng.uniform(1, 10)), "service", (o, nxt[0], nxt[1], s["attempt"]))
            loop.at(loop.now + 50, "reply-timeout", (o, s["attempt"]))
        elif what == "service":
            o, op, step, attempt = data
            key = (o, step)
            state = applied.get(key)
            if op == "do":
                if state is None:
                    state = applied[key] = "failed" if fails[key] else "done"
                    if state == "done":
                        outbox.append({"id": f"{o}/{step}/do", "published": False, "acked": False})
                reply = "ok" if state in ("done", "undone") else "failed"
            else:
                if state is None or state == "failed":
                    problems["no phantom compensation"].append(
                        f"{o}: compensation of {step} ran, but {step} "
                        f"{'never ran' if state is None else 'failed (its local transaction rolled back)'}")
                    applied[key] = "undone-phantom"
                elif state == "done":
                    applied[key] = "undone"
                    outbox.append({"id": f"{o}/{step}/undo", "published": False, "acked": False})
                reply = "undone"
            loop.note(f"{step} service: {op} {o} -> {reply}")
            if not lossy():
                loop.at(loop.now + float(rng.uniform(1, 10)), "reply", (o, step, reply, attempt))
        elif what == "reply":
            o, step, reply, attempt = data
            s = sagas[o]
            if down["orch"] or attempt != s.get("attempt") or not s["busy"]:
                continue
            s["log"].append([reply, step])
            s["busy"] = False
            loop.at(loop.now, "drive", o)
        elif what == "reply-timeout":
            o, attempt = data
            s = sagas[o]
            if not down["orch"] and attempt == s.get("attempt") and s["busy"]:
                s["busy"] = False
                loop.at(loop.now, "drive", o)
        elif what == "poll":
            rows = [dict(r) for r in outbox]
            res = _plain(relay(rows), "relay's answer")
            ids = {r["id"] for r in outbox}
            if type(res) is not list or len(res) != 2 or not all(type(x) is list and set(x) <= ids for x in res):
                raise ConfigError(f"relay(rows) returned {str(res)[:80]}: expected [ids to publish, ids to mark "
                                  "published], ids from the rows")
            for row in outbox:
                if row["id"] in res[1]:
                    row["published"] = True
            for mid in res[0]:
                if lossy():
                    continue
                broker.setdefault(mid, {"consumed": False})
                if not lossy():
                    for row in outbox:
                        if row["id"] == mid:
                            row["acked"] = True
            loop.at(loop.now + 20, "poll", None)
        elif what == "redeliver":
            if not consumer_down:
                for mid, m in sorted(broker.items()):
                    if m["consumed"]:
                        continue
                    copies = 2 if lossy(0.3) else 1
                    for _ in range(copies):
                        o, step, kind = mid.split("/")
                        res = _plain(consume(list(processed), {"id": mid, "order": o, "step": step, "kind": kind}),
                                     "consume's answer")
                        if type(res) is not list or len(res) != 2 or type(res[1]) is not bool or \
                                type(res[0]) is not list or len(res[0]) > 1000:
                            raise ConfigError(f"consume(processed, message) returned {str(res)[:80]}: expected "
                                              "[processed (a list, at most 1000 ids), apply (a bool)]")
                        processed = res[0]
                        if res[1]:
                            effects[mid] = effects.get(mid, 0) + 1
                    if not lossy():
                        m["consumed"] = True
            if loop.now < 4000:
                loop.at(loop.now + 25, "redeliver", None)
    for o, s in sagas.items():
        truth = {step: applied.get((o, step)) for step in STEPS}
        done = [st for st, v in truth.items() if v == "done"]
        if s["done"] is None:
            problems["outcome"].append(f"{o}: the saga never finished (log {s['log']})")
        elif s["done"] == "completed" and len(done) != len(STEPS):
            problems["outcome"].append(f"{o}: reported completed, but the services hold {truth}")
        elif s["done"] == "compensated" and done:
            problems["outcome"].append(f"{o}: reported compensated, but {done} still applied ({truth})")
    for row in outbox:
        if row["id"] not in broker:
            problems["published"].append(f"outbox row {row['id']} never reached the broker "
                                         f"(marked published: {row['published']})")
        elif effects.get(row["id"], 0) != 1:
            problems["exactly once"].append(f"{row['id']} applied {effects.get(row['id'], 0)} times at the consumer")
    return {"problems": problems, "log": loop.log if verbose else []}


def saga_trial(saga_next: Fn, relay: Fn, consume: Fn, seed: int, *, runs: int = 4,
               properties: Iterable[str] = SAGA_PROPERTIES) -> Trial:
    """E14.4 over ``runs`` nemesis runs: ``outcome`` (every order completed or fully
    compensated, as the services' rows say), ``no phantom compensation``, ``published``
    (every outbox row reaches the broker) and ``exactly once`` (each published event's side
    effect applied once at the consumer)."""
    props = selected(properties, SAGA_PROPERTIES)
    trial = Trial(seed)
    failures: list[str] = []
    first = None
    try:
        for r in range(runs):
            s = seed * 100 + r
            got = saga_run(saga_next, relay, consume, s)["problems"]
            found = [f"{p}: {got[p][0]}" + (f" (+{len(got[p]) - 1} more)" if len(got[p]) > 1 else "")
                     for p in props if got[p]]
            if found:
                first = first or f"print(ds.txn.exercises.saga_replay(saga_next, relay, consume, seed={s}))"
                failures.append(f"run seed {s}: " + "; ".join(found))
    except ConfigError as exc:
        return trial.fail(f"unusable answer: {exc}")
    return _report(trial, failures, runs, "cases", first or "")


def saga_replay(saga_next: Fn, relay: Fn, consume: Fn, seed: int) -> str:
    """The event log of one :func:`saga_run`, and its problems."""
    out = saga_run(saga_next, relay, consume, seed, verbose=True)
    found = [f"{p}: {m}" for p, ms in out["problems"].items() for m in ms]
    return "\n".join([*out["log"], *(found or ["no problem found"])])
