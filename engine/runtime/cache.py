"""Workflows kept alive between commands, keyed by instance id and row version.

A command locks the instance row first; if the row's version is the one a cached workflow was
saved at, that object *is* the stored state and loading is skipped. A command that fails never
puts its (possibly half-changed) workflow back, and any other process's write bumps the version,
so a stale object is never used.

The cache is bounded twice: by entries and by an approximate size in bytes (a live SpiffWorkflow
object holds ~2.6 KB per task of its serialized state, measured with ``tracemalloc``: a dispute
case at 签收 ~70 KB, near the end ~100 KB), least recently used first out. The defaults (1,024
entries, 48 MiB) keep an API worker's cache under ~50 MB whatever the case mix.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from engine.spiff import Workflow

#: Live bytes per task of a loaded workflow, and the fixed part (measured, rounded up).
BYTES_PER_TASK = 2_700
BYTES_BASE = 4_096
#: The estimate used when a caller gives none.
DEFAULT_ESTIMATE = 64 * 1024


def approx_bytes(state: Mapping[str, Any] | None) -> int:
    """The approximate memory of a live workflow, from its serialized state (task count)."""
    if not state:
        return DEFAULT_ESTIMATE
    tasks = len(state.get("tasks") or ())
    for sub in (state.get("subprocesses") or {}).values():
        if isinstance(sub, Mapping):
            tasks += len(sub.get("tasks") or ())
    return BYTES_BASE + BYTES_PER_TASK * tasks


class WorkflowCache:
    def __init__(self, size: int = 1024, max_bytes: int = 48 * 1024 * 1024) -> None:
        self._items: OrderedDict[str, tuple[int, Workflow, int]] = OrderedDict()
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()

    def take(self, instance_id: str, version: int) -> Workflow | None:
        """Remove and return the workflow if it was saved at ``version``."""
        with self._lock:
            item = self._items.pop(instance_id, None)
            if item is not None:
                self._bytes -= item[2]
        if item is None or item[0] != version:
            return None
        return item[1]

    def put(
        self, instance_id: str, version: int, workflow: Workflow, size: int | None = None
    ) -> None:
        weight = DEFAULT_ESTIMATE if size is None else max(1, size)
        with self._lock:
            old = self._items.pop(instance_id, None)
            if old is not None:
                self._bytes -= old[2]
            self._items[instance_id] = (version, workflow, weight)
            self._bytes += weight
            while self._items and (len(self._items) > self._size or self._bytes > self._max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped[2]

    @property
    def approx_bytes(self) -> int:
        """The estimated memory the cached workflows hold."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
