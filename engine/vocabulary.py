"""The engine's shared words: names that several packages use, defined once here.

Nothing here imports the rest of the engine, so any package may import it.
"""

from __future__ import annotations

SUMMARY_EVENT = "audit_summary"
"""The event type retention writes in place of a purged span (engine/audit/retention.py)."""
