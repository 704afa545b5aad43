"""Chapter 1 building blocks: Two Generals, heartbeat failure detection, primary-backup.

Submodules: :mod:`.two_generals` (the "k confirmations" protocols and their adversary),
:mod:`.heartbeat` (a fixed-timeout heartbeat failure detector and its timeout sweep) and
:mod:`.primary_backup` (a naive asynchronous primary-backup store).
"""

from . import heartbeat, two_generals
from .two_generals import AdversaryResult, General, Messenger, Outcome, adversary, adversary_table

__all__ = ["AdversaryResult", "General", "Messenger", "Outcome", "adversary", "adversary_table",
           "heartbeat", "two_generals"]
