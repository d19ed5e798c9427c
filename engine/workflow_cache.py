"""Workflows kept alive between commands, keyed by instance id and row version.

A command locks the instance row first; if the row's version is the one a cached workflow was
saved at, that object *is* the stored state and loading is skipped. A command that fails never
puts its (possibly half-changed) workflow back, and any other process's write bumps the version,
so a stale object is never used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from engine.spiff import Workflow


class WorkflowCache:
    def __init__(self, size: int = 2048) -> None:
        self._items: OrderedDict[str, tuple[int, Workflow]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: str, version: int) -> Workflow | None:
        """Remove and return the workflow if it was saved at ``version``."""
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is None or item[0] != version:
            return None
        return item[1]

    def put(self, instance_id: str, version: int, workflow: Workflow) -> None:
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
