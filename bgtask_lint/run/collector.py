"""Python's cycle collector, paused for the length of a run.

libcst builds a node object for every token and piece of whitespace, and a
run keeps the trees of the files it follows values through: hundreds of
thousands of long-lived objects, none of them cyclic garbage (a run leaves a
few thousand such objects in all). The collector's full passes over them
took a third of a cold run (on `bench/run.py`'s corpus in one process: 8.5 s
with it, 5.7 s without; the same peak memory). Reference counting still
frees everything else as it goes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Within this block the cyclic garbage collector does not run; it is
    switched back on after (if it was on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # What the run made is tracked as the youngest generation still:
            # the first collection after would go over all of it (0.2 s after
            # a run on bench/run.py's corpus in one process). Frozen and
            # unfrozen, it joins the oldest generation untraversed; what of it
            # is garbage goes by reference counting as the run's objects are
            # dropped, and its few cycles at the next full collection.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
