"""Grids on a Dask cluster: connecting to a scheduler and running chunks of points on it.

The data are scattered to every worker once; each chunk of ``chunk_size`` points is one task
that returns the scores of its points, recorded (and checkpointed) as tasks finish. Results
equal a local run's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT = 10.0


def connect(address: str, timeout: float = CONNECT_TIMEOUT):
    """A ``dask.distributed.Client`` of the scheduler at ``address``.

    Raises ``OSError`` naming the address when no scheduler answers within ``timeout``
    seconds and ``ValueError`` for a malformed address.
    """
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"scheduler timeout={timeout!r} is out of range: give seconds > 0")
    from tgsr_lib._optional import require

    Client = require("dask.distributed", "grids on a Dask cluster").Client
    try:
        return Client(address, timeout=timeout)
    except OSError as err:
        why = "" if str(err).startswith("Timed out") else f" ({err})"
        raise OSError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s"
                      f"{why}: start it (dask scheduler) or fix the address") from None
    except (ValueError, TypeError) as err:
        raise ValueError(f"bad Dask scheduler address {address!r} ({err}): give one like "
                         "tcp://host:8786") from None


def run_chunks(client, task: Callable, data: list, kk: np.ndarray, xx: np.ndarray,
               todo: np.ndarray, chunk_size: int, args: tuple, on_chunk: Callable) -> None:
    """Run ``task(*data, kk[idx], xx[idx], *args)`` for chunks ``idx`` of the points ``todo``
    on the cluster; ``on_chunk(idx, result)`` gets each result as it arrives."""
    from tgsr_lib._optional import require

    as_completed = require("dask.distributed", "grids on a Dask cluster").as_completed
    if todo.size == 0:
        return
    scattered = client.scatter(data, broadcast=True)
    futures = {}
    for start in range(0, todo.size, chunk_size):
        idx = todo[start:start + chunk_size]
        fut = client.submit(task, *scattered, kk[idx], xx[idx], *args, pure=False)
        futures[fut] = idx
    try:
        for fut in as_completed(futures):
            on_chunk(futures[fut], fut.result())
    finally:
        client.cancel(list(futures))
