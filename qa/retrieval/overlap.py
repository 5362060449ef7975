"""A few threads per process for work that overlaps a FAISS graph search (see
`HybridRetriever.rankings`).

FAISS releases the GIL while it searches, and after the model's encode the second core is idle,
so the caller's own work and BM25 run on one of these threads during the search. The pool is made
on first use in each process, because threads do not survive the fork that starts a serving
worker.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

SIDE_THREADS = 4  # more than one so concurrent questions in one process do not queue here

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_owner_pid: int | None = None


def pool() -> ThreadPoolExecutor:
    """This process's pool (made on first use, and again in a forked child)."""
    global _pool, _owner_pid
    pid = os.getpid()
    if _pool is None or _owner_pid != pid:
        with _lock:
            if _pool is None or _owner_pid != pid:
                _pool = ThreadPoolExecutor(SIDE_THREADS, thread_name_prefix="qa-side")
                _owner_pid = pid
    return _pool
