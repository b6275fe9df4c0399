"""Where many independent fits run: this machine (joblib's processes), a Dask cluster or Ray."""

from __future__ import annotations

import contextlib

from joblib import parallel_config

__all__ = ["backend_context"]


@contextlib.contextmanager
def backend_context(backend: str, client=None):
    """joblib's parallel backend for ``"local"``, ``"dask"`` (a Client, an address or None
    for a local cluster) or ``"ray"``: what prior sweeps and SBC fan their fits out on."""
    if backend == "local":
        yield {}
    elif backend == "dask":
        from dask.distributed import Client

        own = client is None or isinstance(client, str)
        client = Client(client) if own else client
        try:
            with parallel_config(backend="dask", wait_for_workers_timeout=60):
                yield {"client": client}
        finally:
            if own:
                client.close()
    elif backend == "ray":
        import ray
        from ray.util.joblib import register_ray

        if not ray.is_initialized():
            ray.init(address=client) if client else ray.init()
        register_ray()
        with parallel_config(backend="ray"):
            yield {}
    else:
        raise ValueError(f"backend must be 'local', 'dask' or 'ray', got {backend!r}")
