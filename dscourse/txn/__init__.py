"""dscourse.txn: distributed transactions on real local transactions (Chapter 14).

* :mod:`.rm` -- resource managers: :class:`SQLiteRM` (real SQLite tables ``accounts``,
  ``txn_log``, ``row_locks``) and :class:`MemoryRM` (the same records as plain data, for the
  model checker);
* :mod:`.twopc` -- two-phase commit with presumed abort, recovery and cooperative
  termination (:class:`Coordinator`, :class:`Participant`, the broken
  :class:`HeuristicParticipant`), the monitors :func:`atomicity`, :func:`commit_validity`
  and :func:`blocked`;
* :mod:`.threepc` -- three-phase commit with its timeout rules;
* :mod:`.modelcheck` -- :func:`check_2pc`, :func:`blocking_2pc`, :func:`check_3pc` on
  ``ds.checkers.explore``;
* :mod:`.tcc` -- TCC branches on SQLite with Seata's ``tcc_fence_log`` (:class:`TccAccount`;
  empty rollback, idempotency, hanging) and :func:`run_transfers`, its nemesis run;
* :mod:`.saga` -- an orchestrated Saga over four SQLite services with a durable
  ``saga_log``, idempotent steps and compensations (:class:`SagaService`, :func:`run_sagas`);
* :mod:`.outbox` -- the transactional outbox with a polling relay and an idempotent
  consumer (``processed_message``), :func:`run_outbox`;
* :mod:`.at` -- Seata AT: before/after images in ``undo_log``, the TC's global
  ``lock_table``, rollback that detects a dirty write (:class:`AtResource`,
  :class:`TransactionCoordinator`);
* :mod:`.txmsg` -- RocketMQ-style transactional messages: half message, local transaction,
  check-back (:func:`run_txmsg`);
* :mod:`.xa` -- the X/Open XA model: MySQL's ``XA`` statements on SQLite RMs, a TM,
  heuristic outcomes (:class:`~.xa.XaResource`, :class:`~.xa.TransactionManager`);
* :mod:`.paxoscommit` -- Paxos Commit (Gray & Lamport) on ``ds.paxos`` acceptors;
* :mod:`.threepc_fd` -- 3PC with a perfect failure detector and the termination protocol;
* :mod:`.notify` -- best-effort notification with WeChat Pay's schedule and the query API;
* :mod:`.choreography` -- a Saga by events, no orchestrator; :mod:`.isolation` -- sagas'
  anomalies (lost update, dirty read) and the countermeasures;
* :mod:`.labs` -- the chapter's live widget (:func:`~.labs.two_pc_player`), loaded on first use;
* :func:`cluster` -- a coordinator and SQLite participants on one simulation
  (:class:`TxnCluster`), databases in a temporary folder removed by ``close()``.
"""

from .._lazy import lazy
from . import choreography, isolation, notify, paxoscommit, threepc_fd, xa
from .at import AtResource, TransactionCoordinator
from .messages import Ack, Decision, DecisionRequest, PreAck, PreCommit, Prepare, Vote
from .modelcheck import blocking_2pc, check_2pc, check_3pc, simulation
from .outbox import run_outbox
from .rm import MemoryRM, SQLiteRM
from .saga import SagaService, run_sagas
from .system import TxnCluster, cluster
from .tcc import TccAccount, run_transfers
from .threepc import ThreePCCoordinator, ThreePCParticipant
from .twopc import (
    Coordinator,
    ForgetfulCoordinator,
    HeuristicParticipant,
    Participant,
    atomicity,
    blocked,
    commit_validity,
    outcomes,
    transfer,
)
from .txmsg import run_txmsg

__all__ = [
    "Ack",
    "AtResource",
    "Coordinator",
    "Decision",
    "DecisionRequest",
    "ForgetfulCoordinator",
    "HeuristicParticipant",
    "MemoryRM",
    "Participant",
    "PreAck",
    "PreCommit",
    "Prepare",
    "SQLiteRM",
    "SagaService",
    "TccAccount",
    "ThreePCCoordinator",
    "ThreePCParticipant",
    "TransactionCoordinator",
    "TxnCluster",
    "Vote",
    "atomicity",
    "blocked",
    "blocking_2pc",
    "check_2pc",
    "check_3pc",
    "choreography",
    "cluster",
    "commit_validity",
    "isolation",
    "notify",
    "outcomes",
    "paxoscommit",
    "run_outbox",
    "run_sagas",
    "run_transfers",
    "run_txmsg",
    "simulation",
    "threepc_fd",
    "transfer",
    "xa",
]

__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "exercises"))
