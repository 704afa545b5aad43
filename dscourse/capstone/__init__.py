"""dscourse.capstone: MiniMall under a nemesis -- the earlier chapters composed (Chapter 16).

``ds.capstone.minimall(seed=1)`` builds, on one deterministic simulation, a shop whose parts
are the book's own: the gateway (Chapter 13) with routes and a gray rule from the config
center (Chapter 15) calls the order service over RPC (Chapter 12), found in the ZooKeeper
registry (Chapters 7-8); the order service takes order numbers from a Leaf-segment server
(Chapter 10), reserves stock under a fenced Redis lock (Chapter 9) and takes payment by TCC
inside a Saga (Chapter 14).

* :func:`minimall` -> :class:`MiniMall` (``.sim``, ``.nodes``, ``run``/``run_until``,
  ``run_workload()``, ``random_nemesis()``/``schedule()`` on processes, ``check()``);
* the six invariants (:data:`INVARIANTS`, :mod:`.invariants`) and the defence that protects
  each (:data:`DEFENCES`, :data:`DEFENDS`); ``minimall(without=("fencing",))`` removes one;
* the order service, the plug point for a reader's own design: :class:`OrderServiceBase` (the plumbing a
  replacement builds on), :class:`OrderService` (the reference Saga), :class:`Settings`;
  ``minimall(order_service=MyService)`` runs a replacement;
* :func:`trial` -- one seeded run under the combined nemesis, judged; :func:`critical_pause`
  (a targeted pause inside the lock) and :func:`shrink` (a 1-minimal failing schedule);
* :mod:`.labs` (the chapter's widget and figures) and :mod:`.exercises` (E16.1's harness)
  load on first use.
"""

from .._lazy import lazy
from .edge import CONFIG_KEY, FEATURE, Dispatch, EdgeGateway, Shopper, default_config
from .invariants import DEFENDS, INVARIANTS, RegistryMonitor, Verdict
from .messages import (
    IdReply,
    IdRequest,
    OrderRequest,
    OrderResponse,
    Reserve,
    StockRead,
    StockValue,
    TccCall,
    TccResult,
)
from .orders import DEFENCES, TERMINAL, OrderProvider, OrderService, OrderServiceBase, Settings
from .services import InventoryStore, LeafServer, PaymentService
from .system import NEMESIS_KINDS, MiniMall, minimall
from .trial import Run, critical_pause, shrink, trial

__all__ = [
    "CONFIG_KEY",
    "DEFENCES",
    "DEFENDS",
    "FEATURE",
    "INVARIANTS",
    "NEMESIS_KINDS",
    "TERMINAL",
    "Dispatch",
    "EdgeGateway",
    "IdReply",
    "IdRequest",
    "InventoryStore",
    "LeafServer",
    "MiniMall",
    "OrderProvider",
    "OrderRequest",
    "OrderResponse",
    "OrderService",
    "OrderServiceBase",
    "PaymentService",
    "RegistryMonitor",
    "Reserve",
    "Run",
    "Settings",
    "Shopper",
    "StockRead",
    "StockValue",
    "TccCall",
    "TccResult",
    "Verdict",
    "critical_pause",
    "default_config",
    "minimall",
    "shrink",
    "trial",
]
__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "exercises"))
