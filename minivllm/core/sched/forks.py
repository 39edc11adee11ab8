"""Parallel sampling in the scheduler: samples wait for one shared prompt, then fork from it.

The engine queues only the first sample of an ``n > 1`` request; the others
ride along in its ``fork_children``. When the prompt's last token is
scheduled, they take a reference on its blocks and start running.
"""

from __future__ import annotations

from collections.abc import Iterable

from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.request import Request, RequestStatus


def fork_pending(parent: Request, kv_cache_manager: KVCacheManager) -> list[Request]:
    """Share ``parent``'s blocks with each of its pending samples; return them, ready to run.

    A sample starts with the prompt computed (drafts, if the parent had any,
    are not part of the prompt) and draws its first token from the parent's
    logits in the same step.
    """
    children = parent.fork_children
    for child in children:
        kv_cache_manager.fork(parent, child)
        child.num_computed_tokens = parent.num_tokens
        child.num_cached_tokens = parent.num_cached_tokens
        child.status = RequestStatus.RUNNING
    parent.fork_children = []
    return children


def drop_pending(
    parents: Iterable[Request], request_ids: set[str], status: RequestStatus
) -> tuple[list[str], list[Request]]:
    """Finish the named samples that never forked; let survivors of a finished parent go on.

    A parent that ends before its prompt completes (an abort) must not strand
    its pending samples: the first survivor takes its place in the queue,
    with the others as its own pending samples.

    Returns:
        Ids of the samples finished here, and the heirs to queue.
    """
    finished: list[str] = []
    heirs: list[Request] = []
    for parent in parents:
        if not parent.fork_children:
            continue
        survivors = [c for c in parent.fork_children if c.request_id not in request_ids]
        for child in parent.fork_children:
            if child.request_id in request_ids:
                child.status = status
                finished.append(child.request_id)
        parent.fork_children = survivors
        if parent.request_id in request_ids and survivors:
            heir = survivors[0]
            heir.fork_children = survivors[1:]
            parent.fork_children = []
            heirs.append(heir)
    return finished, heirs
