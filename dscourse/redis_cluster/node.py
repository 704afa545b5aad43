"""A Redis Cluster node on ``ds.sim``: the cluster bus, failure detection, failover, slots.

Follows the Redis Cluster Specification (redis.io/docs/reference/cluster-spec):

* **Heartbeats** ("Heartbeat and gossip messages"): a cron runs every 100 ms; once a second
  it pings the node with the oldest PONG among 5 random ones, and it pings any node whose
  PONG is older than NODE_TIMEOUT/2. Every PING/PONG/MEET carries the sender's header (role,
  master, config epoch, current epoch, slots) and a **gossip section**: ``max(3, N/10)``
  random known nodes plus every node this node flags PFAIL (as redis ``clusterSendPing``).
* **Handshake** ("Node handshake"): a node accepts a new node only through MEET, or when a
  node it already knows mentions it in gossip.
* **Failure detection** ("Failure detection"): PFAIL when a PING has waited more than
  NODE_TIMEOUT; a gossip entry flagging a node PFAIL or FAIL, sent by a *master*, is a
  **failure report**, valid for NODE_TIMEOUT × FAIL_REPORT_VALIDITY_MULT (2); PFAIL becomes
  FAIL when the valid reports plus this node (if it is a master) reach a majority of the
  masters serving slots, ``size/2 + 1``; the FAIL message then forces every receiver to flag
  the node FAIL. FAIL is cleared when the node is reachable again and is a replica or a
  master without slots, or a master whose FAIL is older than NODE_TIMEOUT × FAIL_UNDO_TIME_MULT
  (2) without a failover (redis ``clearNodeFailureIfNeeded``).
* **Failover** ("Replica election and promotion", "Configuration epoch"): a replica of a FAIL
  master waits 500 ms + random(0, 500) ms, increments currentEpoch, asks masters for votes
  (FAILOVER_AUTH_REQUEST); a master votes once per epoch and not twice for the same failed
  master within 2 × NODE_TIMEOUT; with a majority the replica becomes master with configEpoch
  = that epoch, claims the slots, and its PONGs win every slot conflict (higher configEpoch).
* **Replication** is asynchronous: a master acknowledges a write, then ships it to its
  replicas every ``repl_delay_ms``; writes not yet shipped when it crashes are lost.
* **Redirections** ("MOVED Redirection", "ASK redirection", "Live resharding"): a command
  for a slot another node owns gets MOVED; a missing key in a MIGRATING slot gets ASK; an
  IMPORTING slot serves only commands preceded by ASKING.

``stable`` holds what Redis keeps in ``nodes.conf`` (epochs, last vote, role, slots, known
nodes), so a restarted node remembers its configuration but (with no persistence) not its data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed
from ..sim import Node
from .messages import AuthAck, AuthRequest, Command, Fail, GossipEntry, MigrateAck, MigrateKeys, Ping, Replicate, Reply
from .slots import expand, key_slot, ranges

CRON_MS = 100
FAIL_REPORT_VALIDITY_MULT = 2
FAIL_UNDO_TIME_MULT = 2


@dataclass
class View:
    """This node's view of another node (a ``clusterNode`` entry)."""

    name: str
    role: str = "master"
    master: str | None = None
    flags: set[str] = field(default_factory=set)
    ping_sent: float = 0.0
    pong_received: float = 0.0
    last_ping: float = 0.0
    config_epoch: int = 0
    fail_time: float = 0.0
    reports: dict[str, float] = field(default_factory=dict)   # reporter -> time


class ClusterNode(Node):
    """A Redis Cluster node (see the module docstring). ``slots``: the slots it serves as a
    master; ``master``: the master it replicates (then it is a replica)."""

    def __init__(self, node_id: str, *, slots: tuple[tuple[int, int], ...] = (), master: str | None = None,
                 node_timeout: float = 1000.0, config_epoch: int = 0, repl_delay_ms: float = 50.0) -> None:
        super().__init__(node_id)
        if isinstance(node_timeout, bool) or not isinstance(node_timeout, (int, float)) or node_timeout < 2 * CRON_MS:
            raise allowed("node_timeout", node_timeout, f"a number of ms >= {2 * CRON_MS}")
        self.node_timeout = float(node_timeout)
        self.repl_delay_ms = float(repl_delay_ms)
        conf = self.stable.setdefault("conf", {
            "role": "replica" if master else "master", "master": master, "config_epoch": config_epoch,
            "current_epoch": config_epoch, "last_vote_epoch": 0,
            "owners": {s: node_id for s in expand(tuple(slots))}, "epochs": {}, "known": []})
        self.conf = conf
        self.views: dict[str, View] = {n: View(n, pong_received=0.0) for n in conf["known"]}
        self.handshake: dict[str, float] = {}
        self.store: dict[str, str] = {}
        self.repl_offset = 0
        self.repl_buffer: list[Replicate] = []
        self.migrating: dict[int, str] = {}
        self.importing: dict[int, str] = {}
        self.in_flight: set[str] = set()
        self.held: list[tuple[str, Command]] = []
        self.iteration = 0
        self.auth_time = 0.0
        self.auth_sent = False
        self.auth_epoch = 0
        self.auth_acks: set[str] = set()
        self.voted_for_master: dict[str, float] = {}
        self._by_owner: dict[str, tuple[tuple[int, int], ...]] = {}
        self._reindex()

    def _reindex(self) -> None:
        """Recompute the slot ranges of every owner (after any change of ``owners``)."""
        by: dict[str, set[int]] = {}
        for s, o in self.conf["owners"].items():
            by.setdefault(o, set()).add(s)
        self._by_owner = {o: ranges(v) for o, v in by.items()}

    # -- configuration shortcuts ----------------------------------------------------------
    @property
    def role(self) -> str:
        return self.conf["role"]

    @property
    def master(self) -> str | None:
        return self.conf["master"]

    def my_slots(self) -> set[int]:
        return expand(self._by_owner.get(self.id, ()))

    def serves_slots(self, name: str) -> bool:
        return name in self._by_owner

    def owner(self, slot: int) -> str | None:
        return self.conf["owners"].get(slot)

    def epoch_of(self, name: str) -> int:
        return self.conf["config_epoch"] if name == self.id else self.conf["epochs"].get(name, 0)

    def masters_with_slots(self) -> set[str]:
        return set(self._by_owner)

    def quorum(self) -> int:
        """``size/2 + 1``, ``size`` = masters serving at least one slot (redis ``needed_quorum``)."""
        return len(self.masters_with_slots()) // 2 + 1

    def flag(self, name: str) -> str:
        """``"FAIL"``, ``"PFAIL"`` or ``"ok"`` for a known node."""
        v = self.views.get(name)
        if v is None:
            return "unknown"
        return "FAIL" if "fail" in v.flags else "PFAIL" if "pfail" in v.flags else "ok"

    # -- admin -----------------------------------------------------------------------------
    def meet(self, other: str) -> None:
        """``CLUSTER MEET``: start a handshake with ``other``."""
        if other != self.id and other not in self.views:
            self.handshake[other] = self.now
            self.send(other, self._header("meet"))

    def on_start(self) -> None:
        self.set_timer(CRON_MS, "cron")
        if self.repl_delay_ms > 0:
            self.set_timer(self.repl_delay_ms, "repl")

    # -- the bus ---------------------------------------------------------------------------
    def _known(self, name: str) -> View:
        v = self.views.get(name)
        if v is None:
            v = self.views[name] = View(name, pong_received=self.now)
            self.conf["known"].append(name)
            self.handshake.pop(name, None)
        return v

    def _header(self, kind: str) -> Ping:
        names = sorted(self.views)
        wanted = min(max(3, len(names) // 10), len(names))
        picked = [names[int(i)] for i in self.rng.permutation(len(names))[:wanted]] if names else []
        picked += [n for n in names if "pfail" in self.views[n].flags and n not in picked]
        gossip = tuple(GossipEntry(n, tuple(sorted(self.views[n].flags)), self.views[n].ping_sent,
                                   self.views[n].pong_received) for n in picked)
        return Ping(kind, self.id, self.role, self.master, self.conf["config_epoch"],
                    self.conf["current_epoch"], self._by_owner.get(self.id, ()), gossip)

    def ping(self, name: str) -> None:
        v = self.views[name]
        if v.ping_sent == 0:
            v.ping_sent = self.now
        v.last_ping = self.now
        self.send(name, self._header("ping"))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "cron":
            self.cron()
            self.set_timer(CRON_MS, "cron")
        elif name == "repl":
            self.flush_replication()
            self.set_timer(self.repl_delay_ms, "repl")

    def cron(self) -> None:
        """redis ``clusterCron``: pings, PFAIL, handshake expiry, replica failover."""
        now, timeout = self.now, self.node_timeout
        self.iteration += 1
        for n, t in list(self.handshake.items()):
            if now - t > timeout:
                del self.handshake[n]
        names = sorted(self.views)
        if self.iteration % 10 == 0 and names:
            sample = [names[int(i)] for i in self.rng.choice(len(names), size=min(5, len(names)), replace=False)]
            idle = [n for n in sample if self.views[n].ping_sent == 0]
            if idle:
                self.ping(min(idle, key=lambda n: (self.views[n].pong_received, n)))
        for n in names:
            v = self.views[n]
            if v.ping_sent == 0 and now - v.pong_received > timeout / 2:
                self.ping(n)
            elif v.ping_sent and now - v.last_ping > timeout / 2:
                self.ping(n)      # redis reconnects the link and pings again; ping_sent is kept
            if v.ping_sent and not v.flags & {"pfail", "fail"} and self.pfail_due(v.ping_sent):
                v.flags.add("pfail")
                self.annotate(view=n, flag="PFAIL")
        if self.role == "replica":
            self.failover_step()

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Ping):
            self.on_ping(src, msg)
        elif isinstance(msg, Fail):
            if src in self.views and msg.about != self.id and msg.about in self.views:
                v = self.views[msg.about]
                if "fail" not in v.flags:
                    v.flags.discard("pfail")
                    v.flags.add("fail")
                    v.fail_time = self.now
                    self.annotate(view=msg.about, flag="FAIL", by="message")
        elif isinstance(msg, AuthRequest):
            self.on_auth_request(src, msg)
        elif isinstance(msg, AuthAck):
            if self.role == "replica" and msg.epoch == self.auth_epoch and self.auth_sent:
                self.auth_acks.add(src)
                self.failover_step()
        elif isinstance(msg, Replicate):
            if self.role == "replica" and src == self.master:
                self._apply(msg.key, msg.value)
                self.repl_offset = max(self.repl_offset, msg.offset)
        elif isinstance(msg, Command):
            self.on_command(src, msg)
        elif isinstance(msg, MigrateKeys):
            for k, val in msg.items:
                self.store[k] = val
            self.send(src, MigrateAck(msg.slot, tuple(k for k, _ in msg.items)))
        elif isinstance(msg, MigrateAck):
            for k in msg.keys:
                self.store.pop(k, None)
                self.in_flight.discard(k)
            held, self.held = self.held, []
            for client, cmd in held:
                self.on_command(client, cmd)
        elif isinstance(msg, tuple) and msg and msg[0] == "admin":
            self.on_admin(src, msg)

    def on_ping(self, src: str, msg: Ping) -> None:
        known = src in self.views
        if not known and msg.kind != "meet" and src not in self.handshake:
            return                                       # untrusted: only MEET or gossip admits
        v = self._known(src)
        conf = self.conf
        conf["current_epoch"] = max(conf["current_epoch"], msg.current_epoch)
        conf["epochs"][src] = msg.config_epoch
        v.role, v.master, v.config_epoch = msg.role, msg.master, msg.config_epoch
        if msg.kind in ("ping", "meet"):
            self.send(src, self._header("pong"))
        else:
            v.ping_sent = 0.0
            v.pong_received = self.now
            if "pfail" in v.flags:
                v.flags.discard("pfail")
                self.annotate(view=src, flag="ok")
        if "fail" in v.flags:
            self._clear_fail_if_needed(v)
        if msg.role == "master" and msg.slots and self._by_owner.get(src) != msg.slots:
            self._update_slots(src, expand(msg.slots), msg.config_epoch)
        for e in msg.gossip:
            self._gossip_entry(src, v, e)

    def _gossip_entry(self, sender: str, sv: View, e: GossipEntry) -> None:
        if e.name == self.id:
            return
        v = self.views.get(e.name)
        if v is None:
            if e.name not in self.handshake:            # gossip from a known node admits it
                self.handshake[e.name] = self.now
                self.send(e.name, self._header("meet"))
            return
        v.reports = self.update_reports(v.reports, sender, sv.role == "master", e.flags)
        if sv.role == "master" and ("pfail" in e.flags or "fail" in e.flags):
            self.mark_failing_if_needed(e.name)

    # -- the three rules of failure detection (exercise E4.3 replaces them) -----------------
    def pfail_due(self, ping_sent: float) -> bool:
        """PFAIL when a PING has waited more than NODE_TIMEOUT ("Failure detection")."""
        return self.now - ping_sent > self.node_timeout

    def update_reports(self, reports: dict[str, float], sender: str, sender_is_master: bool,
                       flags: tuple[str, ...]) -> dict[str, float]:
        """A master's gossip flagging the node PFAIL/FAIL adds (or refreshes) its report; a
        master's gossip saying it is fine removes it; replicas' gossip is not a report."""
        if not sender_is_master:
            return reports
        out = dict(reports)
        if "pfail" in flags or "fail" in flags:
            out[sender] = self.now
        else:
            out.pop(sender, None)
        return out

    def fail_quorum(self, local_flag: str, reports: dict[str, float]) -> bool:
        """PFAIL here, and valid reports (younger than 2 × NODE_TIMEOUT) plus this node if it
        is a master reach ``size/2 + 1`` of the masters serving slots."""
        horizon = self.now - self.node_timeout * FAIL_REPORT_VALIDITY_MULT
        valid = sum(1 for t in reports.values() if t >= horizon)
        return local_flag == "PFAIL" and valid + (1 if self.role == "master" else 0) >= self.quorum()

    def valid_reports(self, name: str) -> dict[str, float]:
        """Failure reports about ``name`` younger than NODE_TIMEOUT × FAIL_REPORT_VALIDITY_MULT."""
        v = self.views[name]
        horizon = self.now - self.node_timeout * FAIL_REPORT_VALIDITY_MULT
        for r in [r for r, t in v.reports.items() if t < horizon]:
            del v.reports[r]
        return dict(v.reports)

    def mark_failing_if_needed(self, name: str) -> None:
        """redis ``markNodeAsFailingIfNeeded``: PFAIL → FAIL on a majority of masters."""
        v = self.views[name]
        if "pfail" not in v.flags or "fail" in v.flags:
            return
        reports = self.valid_reports(name)
        if not self.fail_quorum(self.flag(name), dict(v.reports)):
            return
        v.flags.discard("pfail")
        v.flags.add("fail")
        v.fail_time = self.now
        self.annotate(view=name, flag="FAIL", by="reports", reporters=sorted(reports))
        for n in sorted(self.views):
            self.send(n, Fail(name))

    def _clear_fail_if_needed(self, v: View) -> None:
        serving = self.serves_slots(v.name)
        if v.role == "replica" or not serving or (
                self.now - v.fail_time > self.node_timeout * FAIL_UNDO_TIME_MULT):
            v.flags.discard("fail")
            v.reports.clear()
            self.annotate(view=v.name, flag="ok", cleared=True)

    def _update_slots(self, sender: str, claimed: set[int], epoch: int) -> None:
        """redis ``clusterUpdateSlotsConfigWith``: a higher configEpoch wins a slot."""
        owners = self.conf["owners"]
        mine_before = self.serves_slots(self.id)
        changed = False
        for s in claimed:
            cur = owners.get(s)
            if cur == sender or s in self.importing:
                continue
            if cur is None or self.epoch_of(cur) < epoch:
                owners[s] = sender
                changed = True
        if changed:
            self._reindex()
        if mine_before and not self.serves_slots(self.id) and self.role == "master":
            self.conf["role"], self.conf["master"] = "replica", sender     # demoted old master
            self.store.clear()
            self.annotate(role="replica", master=sender)

    # -- failover --------------------------------------------------------------------------
    def failover_step(self) -> None:
        """redis ``clusterHandleSlaveFailover``, without replica ranking."""
        m = self.views.get(self.master or "")
        if m is None or "fail" not in m.flags:
            self.auth_time, self.auth_sent = 0.0, False
            return
        now, timeout = self.now, self.node_timeout
        if self.auth_time == 0 or (self.auth_sent and now - self.auth_time > timeout * 4):
            self.auth_time = now + 500 + float(self.rng.uniform(0, 500))
            self.auth_sent, self.auth_acks = False, set()
            return
        if not self.auth_sent and now >= self.auth_time:
            self.conf["current_epoch"] += 1
            self.auth_epoch = self.conf["current_epoch"]
            self.auth_sent = True
            for n in sorted(self.views):
                if self.views[n].role == "master":
                    self.send(n, AuthRequest(self.auth_epoch, self.master or ""))
            return
        if self.auth_sent and now - self.auth_time <= timeout * 2 and len(self.auth_acks) >= self.quorum():
            self.promote()

    def promote(self) -> None:
        old = self.master or ""
        conf = self.conf
        conf["role"], conf["master"] = "master", None
        conf["config_epoch"] = self.auth_epoch
        for s, o in list(conf["owners"].items()):
            if o == old:
                conf["owners"][s] = self.id
        self._reindex()
        self.auth_time, self.auth_sent = 0.0, False
        self.annotate(role="master", config_epoch=self.auth_epoch, replaced=old)
        for n in sorted(self.views):
            self.send(n, self._header("pong"))

    def on_auth_request(self, src: str, msg: AuthRequest) -> None:
        """redis ``clusterSendFailoverAuthIfNeeded``."""
        conf = self.conf
        if self.role != "master" or not self.serves_slots(self.id) or src not in self.views:
            return
        conf["current_epoch"] = max(conf["current_epoch"], msg.epoch)
        m = self.views.get(msg.master)
        if conf["last_vote_epoch"] >= msg.epoch or m is None or "fail" not in m.flags:
            return
        if self.now - self.voted_for_master.get(msg.master, -1e18) < self.node_timeout * 2:
            return
        conf["last_vote_epoch"] = msg.epoch
        self.voted_for_master[msg.master] = self.now
        self.send(src, AuthAck(msg.epoch))

    # -- data ------------------------------------------------------------------------------
    def _apply(self, key: str, value: str | None) -> None:
        if value is None:
            self.store.pop(key, None)
        else:
            self.store[key] = value

    def flush_replication(self) -> None:
        if not self.repl_buffer:
            return
        replicas = [n for n in sorted(self.views)
                    if self.views[n].role == "replica" and self.views[n].master == self.id]
        for r in replicas:
            for w in self.repl_buffer:
                self.send(r, w)
        self.repl_buffer = []

    def on_command(self, src: str, cmd: Command) -> None:
        slot = key_slot(cmd.key)
        owner = self.owner(slot)
        if cmd.key in self.in_flight:
            self.held.append((src, cmd))
            return
        serve = self.role == "master" and (owner == self.id or (slot in self.importing and cmd.asking))
        if serve and slot in self.migrating and cmd.key not in self.store:
            self.send(src, Reply(cmd.req, "ask", slot=slot, node=self.migrating[slot]))
            return
        if not serve:
            if owner is None:
                self.send(src, Reply(cmd.req, "err", value="CLUSTERDOWN Hash slot not served"))
            else:
                self.send(src, Reply(cmd.req, "moved", slot=slot, node=owner))
            return
        if cmd.op == "get":
            self.send(src, Reply(cmd.req, "value", value=self.store.get(cmd.key)))
        else:
            self._apply(cmd.key, cmd.value)
            self.repl_offset += 1
            w = Replicate(cmd.key, cmd.value, self.repl_offset)
            if self.repl_delay_ms > 0:
                self.repl_buffer.append(w)
            else:
                self.repl_buffer = [w]
                self.flush_replication()
            self.send(src, Reply(cmd.req, "ok"))

    def on_admin(self, src: str, msg: tuple) -> None:
        """``("admin", op, slot, node, count)``: CLUSTER SETSLOT … and MIGRATE, as an operator
        (redis-cli ``--cluster reshard``) issues them."""
        _, op, slot, node, count = msg
        if op == "importing":
            self.importing[slot] = node
        elif op == "migrating":
            self.migrating[slot] = node
        elif op == "migrate":
            keys = sorted(k for k in self.store if key_slot(k) == slot and k not in self.in_flight)[:count]
            if keys:
                self.in_flight.update(keys)
                self.send(node, MigrateKeys(slot, tuple((k, self.store[k]) for k in keys)))
            self.send(src, ("admin_ok", op, slot, len([k for k in self.store if key_slot(k) == slot])))
            return
        elif op == "node":
            self.importing.pop(slot, None)
            self.migrating.pop(slot, None)
            if node == self.id and self.conf["config_epoch"] < self.conf["current_epoch"] + 1:
                self.conf["current_epoch"] += 1                # bump without consensus, as SETSLOT NODE
                self.conf["config_epoch"] = self.conf["current_epoch"]
            self.conf["owners"][slot] = node
            self._reindex()
        self.send(src, ("admin_ok", op, slot, 0))
