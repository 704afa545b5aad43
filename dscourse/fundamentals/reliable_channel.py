"""A reliable FIFO channel over fair-lossy links: the reference solution of exercise E1.1.

Sequence numbers, acknowledgements, retransmission and deduplication turn a link that may
lose, duplicate and reorder messages into one that delivers every message exactly once and
in send order, as long as the link is *fair-lossy* (a message sent infinitely often is
eventually delivered): Cachin, Guerraoui and Rodrigues, *Introduction to Reliable and Secure
Distributed Programming* (2nd ed., 2011), §2.4.2-2.4.4 (stubborn and perfect links), with the
in-order delivery of a FIFO channel on top. TCP does the same with byte sequence numbers.

The application calls ``reliable_send(dst, data)``; the channel calls ``self.deliver(src,
data)`` (a callback the application installs) once per payload, in order. Retransmission
runs on one timer that stays off while nothing is unacknowledged, so the link falls silent.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dscourse as ds


@dataclass(frozen=True)
class Data:
    """Payload ``data``, the ``seq``-th one its sender sent on this link."""

    seq: int
    data: object


@dataclass(frozen=True)
class Ack:
    """The receiver has the payload numbered ``seq``."""

    seq: int


class ReliableChannel(ds.sim.Node):
    """Exactly-once, in-order delivery to each peer over lossy, duplicating, reordering links."""

    deliver: Callable[[str, object], None]  # installed by the application: called with (src, data)

    def __init__(self, node_id: str, retransmit_ms: float = 10.0) -> None:
        """Set up the channel's state (``retransmit_ms``: how often to resend)."""
        super().__init__(node_id)
        self.retransmit_ms = retransmit_ms
        self.next_seq: dict[str, int] = {}                  # dst -> next number to send
        self.unacked: dict[tuple[str, int], object] = {}    # (dst, seq) -> data, until acked
        self.expected: dict[str, int] = {}                  # src -> next number to deliver
        self.buffer: dict[tuple[str, int], object] = {}     # (src, seq) -> data ahead of order
        self.timer_on = False

    def reliable_send(self, dst: str, data: object) -> None:
        """Send ``data`` to ``dst``: delivered there exactly once, after everything sent before."""
        seq = self.next_seq.get(dst, 0)
        self.next_seq[dst] = seq + 1
        self.unacked[(dst, seq)] = data
        self.send(dst, Data(seq, data))
        if not self.timer_on:
            self.timer_on = True
            self.set_timer(self.retransmit_ms, "retransmit")

    def on_message(self, src: str, msg: object) -> None:
        """A ``Data`` or an ``Ack`` (or a duplicate of one) arrives from ``src``."""
        if isinstance(msg, Ack):
            self.unacked.pop((src, msg.seq), None)
        elif isinstance(msg, Data):
            self.send(src, Ack(msg.seq))                    # ack every copy: acks get lost too
            if msg.seq >= self.expected.get(src, 0):
                self.buffer[(src, msg.seq)] = msg.data
            nxt = self.expected.get(src, 0)
            while (src, nxt) in self.buffer:                # deliver in order, each once
                self.deliver(src, self.buffer.pop((src, nxt)))
                nxt += 1
            self.expected[src] = nxt

    def on_timer(self, name: str, payload: object) -> None:
        """Retransmit whatever is still unacknowledged."""
        for (dst, seq), data in sorted(self.unacked.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            self.send(dst, Data(seq, data))
        self.timer_on = bool(self.unacked)
        if self.timer_on:
            self.set_timer(self.retransmit_ms, "retransmit")
