"""Process-wide settings for a ledgerlink process (the CLI; the benchmark measures the same).

A pass makes many small objects that live for the whole pass (records read, links, actions);
with Python's default thresholds (a collection every 700 allocations) the collector walks them
again and again — about a quarter of a first sync's CPU. Freezing what the imports made and
collecting less often leaves memory as it is (nothing here forms cycles that matter) and cuts
that to a few percent.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between young-generation collections (Python's default: 700)

_tuned = False


def tune_garbage_collector() -> None:
    """After the imports: what they made is never collected, so it is not scanned again. Once a
    process (a second call, e.g. the CLI run again in one test process, changes nothing)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
