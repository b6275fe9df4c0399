"""NUTS on JAX without PyMC's per-chain overheads.

``pm.sample(nuts_sampler="numpyro")`` runs numpyro's initialization op by op, falls back to
sequential chains when there are fewer XLA devices than chains, and compiles one XLA program
per deterministic; on sleepstudy that is ~6 s of a 7 s fit.  Here the whole of a chunk of
iterations (warm-up or sampling, all chains) is one jitted program: chains are spread over
XLA's CPU devices (``pmap``; :func:`configure_jax` asks for one device per chain, threads,
so 4 chains share both cores of a 2-core machine), vectorized with ``vmap`` only where
chains outnumber devices (batching NUTS's while loops traced 3 s slower); the constrained
values and deterministics are one more program.  Both
land in JAX's persistent compilation cache (:func:`configure_jax`), so refitting a model of
the same structure skips XLA's compile.  The data enter those programs as arguments, not
constants (:func:`_lift`), so within one process a model of the same structure with other
data (prior sweeps, simulation-based calibration, refits) reuses them without tracing again.
The log density is PyMC's own (PyTensor's JAX backend), so the posterior is exactly the
model's.
"""

from __future__ import annotations

import os
import sys
import time
from collections import OrderedDict

import numpy as np
import pymc as pm

__all__ = ["configure_jax", "sample_jax"]

#: iterations per jitted chunk: a progress bar moves between chunks, and warm-up's windowed
#: adaptation lives in the carried state, so chunking changes nothing in the draws
CHUNKS = 10
#: XLA CPU devices asked for at least: one per chain for the usual 4 chains, even on 2 cores
#: (each device is a thread; vectorizing chains within a device is slower to trace)
DEVICES = 4


def configure_jax() -> None:
    """Before JAX loads: enough XLA CPU devices for parallel chains and a persistent
    compilation cache, so refitting a model of the same structure skips XLA's compile."""
    if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in \
            os.environ.get("XLA_FLAGS", ""):
        devices = max(os.cpu_count() or 1, DEVICES)
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_force_host_platform_device_count={devices}")
    import jax

    if jax.config.jax_compilation_cache_dir is None:
        cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                             "hglm", "jax")
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _initial_points(model: pm.Model, chains: int, seed: int) -> list[np.ndarray]:
    """PyMC's jittered starting points (uniform(-1, 1) on the unconstrained scale), stacked
    per variable with chains first."""
    from pymc.initial_point import make_initial_point_fn

    fn = make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs),
                               return_transformed=True)
    seeds = np.random.SeedSequence(seed).generate_state(chains)
    points = [fn(int(s)) for s in seeds]
    names = [v.name for v in model.value_vars]
    return [np.stack([np.asarray(p[n], dtype=float) for p in points]) for n in names]


def _layout(chains: int):
    """(devices, chains per device): chains spread over as many devices as divide them."""
    import jax

    n_dev = len(jax.local_devices())
    for d in range(min(n_dev, chains), 0, -1):
        if chains % d == 0:
            return d, chains // d
    return 1, chains


#: integer arrays longer than this are data (a count response, group indices) and become
#: arguments; shorter ones (shapes, axes) stay constants, which JAX needs static
STATIC_INT_SIZE = 16


def _data_like(v) -> bool:
    from pytensor.tensor.variable import TensorConstant

    if not isinstance(v, TensorConstant):
        return False
    if v.dtype == "float32" and v.ndim == 0:
        # PyTensor's autocast literals (0.5, 2.0): structure, not data; lifting them trips
        # PyTensor's elemwise fusion (KeyError in FusionOptimizer.elemwise_to_scalar)
        return False
    if v.dtype.startswith("float"):
        return True
    return v.dtype.startswith(("int", "uint")) and v.data.size > STATIC_INT_SIZE


def _lift(inputs, outputs):
    """``(fgraph, constants, key)``: the graph with its data constants (the response,
    sufficient statistics, prior scales, group indices: :func:`_data_like`) lifted into extra
    inputs, so models that differ only in data share one compiled program; ``key`` names the
    structure (the remaining constants hashed in).  :func:`_funcify` compiles ``fgraph``.
    """
    import hashlib

    from pymc.sampling.jax import _replace_shared_variables
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.traversal import graph_inputs
    from pytensor.printing import debugprint
    from pytensor.tensor.variable import TensorConstant

    fgraph = FunctionGraph(inputs=inputs, outputs=_replace_shared_variables(outputs),
                           clone=True)
    # lifted before the rewrites, which would otherwise fold them into fused kernels; roots
    # in the graph's own walk order, so the same structure gives the same argument order
    consts = [v for v in graph_inputs(fgraph.outputs) if _data_like(v)]
    placeholders = [c.type() for c in consts]
    for ph in placeholders:
        fgraph.add_input(ph)
    fgraph.replace_all(list(zip(consts, placeholders)), import_missing=True)
    # the key before the rewrites, whose fused kernels carry arbitrary temporary names
    digest = hashlib.sha1()
    for v in graph_inputs(fgraph.outputs):
        if isinstance(v, TensorConstant):
            digest.update(f"{v.dtype}{v.data.shape}".encode())
            digest.update(np.ascontiguousarray(v.data).tobytes())
    key = (debugprint(fgraph, file="str", print_type=True), digest.hexdigest())
    return fgraph, [np.asarray(c.data) for c in consts], key


def _erfcx(x):
    """erfcx(x) = exp(x^2) erfc(x) in JAX, to 1e-12 relative: directly up to 25, where
    erfc(x) ~ 1e-273 still holds its digits, and by the asymptotic series above (its first
    omitted term, 945 / (32 x^10), is below 1e-12 there).  PyTensor's JAX backend has erfcx
    only through TensorFlow Probability, which pip does not serve here; the probit link's
    log Phi is written with it (``hglm.spec.families.links``)."""
    import jax.numpy as jnp
    from jax.scipy.special import erfc

    big = x > 25.0
    small = jnp.where(big, 0.0, x)
    large = jnp.where(big, x, 25.0)
    inv2 = 1.0 / (large * large)
    series = (1.0 - 0.5 * inv2 + 0.75 * inv2**2 - 1.875 * inv2**3 + 6.5625 * inv2**4) / (
        large * np.sqrt(np.pi))
    return jnp.where(big, series, jnp.exp(small * small) * erfc(small))


def _logp_fn(fgraph, key):
    """The funcified log density of a structure, once per structure (funcifying rewrites
    ``fgraph`` in place)."""
    return _cached(("logp", key), lambda: _funcify(fgraph))


def _funcify(fgraph):
    """The lifted graph rewritten for JAX, as ``fn(*inputs, *constants)``."""
    from pytensor.compile import mode
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.scalar.math import Erfcx

    jax_funcify.register(Erfcx)(lambda op, **kwargs: _erfcx)
    mode.JAX.optimizer.rewrite(fgraph)
    return jax_funcify(fgraph)


#: compiled samplers of recent model structures: refitting a structure in the same process
#: (a prior sweep, SBC, k-fold, a bench re-run) calls them again with new constants
_PROGRAMS: OrderedDict = OrderedDict()
#: programs kept (a sampler and a constraining program per structure); XLA's CPU code stays
#: mapped until JAX's caches are cleared (~700 memory maps per structure, of the kernel's
#: 65,530), so a full cache is emptied at once rather than one program at a time
CACHE_SIZE = 16


def _samplers(logp_fn, names: tuple[str, ...], n_dev: int, per_dev: int, tune: int,
              target_accept: float, dense_mass: bool | tuple, max_tree_depth: int):
    """The jitted programs for one structure: ``init(z0, keys, consts)`` and
    ``run(length)(state, consts)`` over all chains.  Positions are a list in ``names``'
    order, or, where ``dense_mass`` names blocks of value variables (numpyro's structured
    mass matrix: dense within each tuple of names, diagonal elsewhere), a dict keyed by
    ``names`` (numpyro orders a dict's leaves by name, which changes the draws; the list
    keeps every other fit's draws as they were)."""
    import jax
    from numpyro.infer.hmc import hmc

    keyed = isinstance(dense_mass, tuple)
    dense_mass = [tuple(b) for b in dense_mass] if keyed else dense_mass

    def potential(*args):
        # the chains move z; the model's coordinates are x = scale * z (scales: 1, or a
        # concentrated coordinate's posterior sd, :func:`_unit_scales`)
        consts, scales = args[:-len(names)], args[-len(names):]
        if keyed:
            return lambda z: -logp_fn(*(z[n] * s for n, s in zip(names, scales)), *consts)[0]
        return lambda z: -logp_fn(*(x * s for x, s in zip(z, scales)), *consts)[0]

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential, algo="NUTS")

    def init_one(z0, key, consts):
        return init_kernel(z0, num_warmup=tune, target_accept_prob=target_accept,
                           dense_mass=dense_mass, max_tree_depth=max_tree_depth, rng_key=key,
                           model_args=consts)

    def run(state, consts, length: int):
        def step(s, _):
            s = sample_kernel(s, model_args=consts)
            return s, (s.z, s.diverging, s.num_steps, s.accept_prob, s.potential_energy,
                       s.energy, s.adapt_state.step_size)
        return jax.lax.scan(step, state, None, length=length)

    def over_chains(fn, n_args: int):
        # vmap only when chains outnumber devices: batching NUTS's while loops is slow to
        # trace; the constants are shared by all chains
        axes = (0,) * (n_args - 1) + (None,)
        return jax.pmap(fn if per_dev == 1 else jax.vmap(fn, in_axes=axes), in_axes=axes)

    programs: dict = {"init": over_chains(init_one, 3)}

    def program(length: int):
        """All chains, ``length`` steps, one compiled program per chunk length (warm-up
        chunks collect too and are dropped: one program to trace instead of two)."""
        if length not in programs:
            programs[length] = over_chains(lambda s, c: run(s, c, length), 2)
        return programs[length]

    return programs["init"], program


def _cached(key, build):
    if key not in _PROGRAMS:
        if len(_PROGRAMS) >= CACHE_SIZE:
            import jax

            _PROGRAMS.clear()
            jax.clear_caches()
        _PROGRAMS[key] = build()
    return _PROGRAMS[key]


def sample_jax(model: pm.Model, draws: int, tune: int, chains: int, seed: int,
               target_accept: float, dense_mass: bool | tuple = False,
               progressbar: bool = True, max_tree_depth: int = 10, rescale: bool = True):
    """Run numpyro's NUTS on the model's log density; returns (InferenceData, seconds).

    ``dense_mass``: True (dense), False (diagonal), or a tuple of tuples of value-variable
    names, each a block adapted dense (the rest diagonal).  ``rescale``: look for
    concentrated coordinates to sample at unit scale (:func:`_unit_scales`; dense only)."""
    configure_jax()
    import jax
    import jax.numpy as jnp

    start = time.perf_counter()
    fgraph, consts, key = _lift(model.value_vars, [model.logp()])
    n_dev, per_dev = _layout(chains)
    names = tuple(v.name for v in model.value_vars)
    init, program = _cached(
        ("nuts", key, n_dev, per_dev, tune, target_accept, dense_mass, max_tree_depth),
        lambda: _samplers(_logp_fn(fgraph, key), names, n_dev, per_dev, tune, target_accept,
                          dense_mass, max_tree_depth))
    consts = tuple(jnp.asarray(c) for c in consts)

    def shard(x):
        return jnp.reshape(x, (n_dev,) + ((per_dev,) if per_dev > 1 else ()) + x.shape[1:])

    x0 = _initial_points(model, chains, seed)
    found = _unit_scales(fgraph, key, x0, consts) if dense_mass is True and rescale else None
    scales = found[0] if found else [np.ones(x.shape[1:]) for x in x0]
    if found:
        x0 = _near_mode(x0, *found, seed)
    z0 = [shard(jnp.asarray(x / s)) for x, s in zip(x0, scales)]
    keyed = isinstance(dense_mass, tuple)       # block mass matrix: positions by name
    if keyed:
        z0 = dict(zip(names, z0))
    args = consts + tuple(jnp.asarray(s) for s in scales)
    keys = shard(jax.random.split(jax.random.PRNGKey(seed), chains))
    state = init(z0, keys, args)
    bar = _progress(progressbar, tune + draws, chains)
    for n in _chunks(tune):
        state = program(n)(state, args)[0]
        bar(n)
    out = []
    for n in _chunks(draws):
        state, collected = program(n)(state, args)
        out.append(collected)
        bar(n)
    bar(None)
    # (dev, per_dev, draws, ...) -> (chains, draws, ...)
    lead = 1 if per_dev == 1 else 2
    merged = jax.tree.map(lambda *xs: np.concatenate(
        [np.asarray(x).reshape((chains,) + x.shape[lead:]) for x in xs], axis=1), *out)
    positions, diverging, n_steps, accept, potential, energy, step_size = merged
    if keyed:
        positions = [positions[n] for n in names]
    positions = [z * s for z, s in zip(positions, scales)]

    out_names, outputs = _posterior_vars(model)
    graph, graph_consts, graph_key = _lift(model.value_vars, outputs)
    axes = (0,) * len(positions) + (None,) * len(graph_consts)
    constrain = _cached(("constrain", graph_key), lambda: jax.jit(jax.vmap(jax.vmap(
        _funcify(graph), in_axes=axes), in_axes=axes)))
    values = [np.asarray(v) for v in constrain(*positions, *graph_consts)]
    elapsed = time.perf_counter() - start
    stats = {"diverging": diverging, "n_steps": n_steps,
             "tree_depth": np.floor(np.log2(np.maximum(n_steps, 1))).astype(int) + 1,
             "acceptance_rate": accept, "lp": -potential, "energy": energy,
             "step_size": step_size}
    return _to_idata(model, dict(zip(out_names, values)), stats, elapsed), elapsed


#: posterior precision (1 / sd^2 on the unconstrained scale) above which a coordinate is
#: sampled rescaled to unit sd.  numpyro, like Stan, shrinks the adapted dense mass matrix
#: towards 1e-3 I (weight 5 / (n + 5)), so a coordinate with a posterior sd far below 0.03
#: gets a mass set by that floor, not by its posterior: gaussian-1M's log sigma (sd 7e-4)
#: held NUTS at step size 0.2 and 16 leapfrog steps per draw, against 0.7 and 6 unshrunk.
CONCENTRATED = 1e4
#: rows from which a fit looks for concentrated coordinates: the look compiles the log
#: density's Hessian (2-4 s of sleepstudy's first fit), and a unit-scale coordinate such as
#: log sigma has a posterior sd of about 1 / sqrt(2 rows), below 0.01 from 5,000 rows on
RESCALE_ROWS = 5000
#: trust-region Newton iterations allowed to find the mode the rescaling is measured at
NEWTON_STEPS = 100


def _unit_scales(fgraph, key, x0: list[np.ndarray], consts):
    """``(scales, mode)`` per value variable where some coordinate's precision at the mode
    (Newton's method from the first chain's start, on the full Hessian: only models of up to
    :data:`~hglm.sample.nuts.DENSE_MAX` parameters come here) exceeds :data:`CONCENTRATED`:
    the posterior sd of each coordinate narrower than 1, 1 elsewhere, and the mode; None when
    no coordinate is that concentrated, so such fits run exactly as without it.  A rescaled
    coordinate is an exact linear change of variables: the posterior is unchanged."""
    import jax
    import jax.numpy as jnp

    shapes = [x.shape[1:] for x in x0]
    sizes = [int(np.prod(sh)) for sh in shapes]
    cuts = np.cumsum(sizes)[:-1]

    logp_fn = _logp_fn(fgraph, key)     # funcified outside any trace: it makes constants

    def logp(flat, *consts):
        parts = jnp.split(flat, cuts)
        return logp_fn(*(p.reshape(sh) for p, sh in zip(parts, shapes)), *consts)[0]
    grad, hess = _cached(("newton", key), lambda: (
        jax.jit(jax.value_and_grad(logp)), jax.jit(jax.hessian(logp))))
    x = np.concatenate([np.ravel(v[0]) for v in x0])
    if np.max(-np.diag(hess(x, *consts))) <= CONCENTRATED:
        return None
    x = _mode(grad, hess, x, consts)
    precision = -np.asarray(hess(x, *consts))
    if not np.all(np.isfinite(precision)):
        return None
    try:
        np.linalg.cholesky(precision)
        var = np.diag(np.linalg.inv(precision))
    except np.linalg.LinAlgError:                     # not a maximum: each diagonal alone
        var = 1.0 / np.where(np.diag(precision) > 0, np.diag(precision), 1.0)
    if not np.any(1.0 / var > CONCENTRATED):
        return None
    # every coordinate narrower than the unit one, not only the concentrated: a correlation
    # left at scale 1 (sd 0.01 at 10,000 groups) and started at PyMC's jitter, 50 sds from
    # its mode, held gaussian-1M's first 100 warm-up iterations at step 0.03 and 319 leapfrog
    # steps each (30 s of a 46 s fit); all rescaled, 7 steps and 1.1 s (the fit 16 s)
    scale = np.where(1.0 / var > 1.0, np.sqrt(var), 1.0)
    return tuple([p.reshape(sh) for p, sh in zip(np.split(v, cuts), shapes)]
                 for v in (scale, x))


def _near_mode(x0: list[np.ndarray], scales, mode, seed: int) -> list[np.ndarray]:
    """Starting points with each rescaled coordinate drawn uniformly within 2 posterior sds
    of the mode (Stan's uniform(-2, 2), in units of the posterior): started where PyMC's
    jitter puts them, a coordinate of sd 7e-4 is thousands of its units from the mode, and
    warm-up spent its longest trajectories travelling there."""
    rng = np.random.default_rng([seed, 11])
    out = []
    for x, s, m in zip(x0, scales, mode):
        near = m + s * rng.uniform(-2.0, 2.0, size=x.shape)
        out.append(np.where(s == 1.0, x, near))
    return out


def _mode(grad, hess, x: np.ndarray, consts) -> np.ndarray:
    """The posterior mode on the unconstrained scale from ``x``: SciPy's trust-region Newton
    (``trust-exact``), which keeps its steps inside a region where the quadratic model holds.
    A damped Newton step from PyMC's jittered start jumped to sd_g ~ 900 on 10M rows (the
    Hessian is indefinite there) and crawled from there for all its steps."""
    from scipy.optimize import minimize

    def f(v):
        value, g = grad(v, *consts)
        return -float(value), -np.asarray(g, dtype=float)

    res = minimize(f, x, jac=True, hess=lambda v: -np.asarray(hess(v, *consts), dtype=float),
                   method="trust-exact", options={"maxiter": NEWTON_STEPS, "gtol": 1e-6})
    return res.x


def _chunks(total: int) -> list[int]:
    """Chunk lengths: at most two distinct sizes, so at most two compiled programs."""
    if total == 0:
        return []
    size = -(-total // CHUNKS)
    full, rest = divmod(total, size)
    return [size] * full + ([rest] if rest else [])


def _posterior_vars(model: pm.Model):
    """Names and graphs of what the posterior holds: free variables on their own scale and
    deterministics (PyMC's defaults, transformed values left out)."""
    from pymc.util import get_default_varnames

    outputs = list(get_default_varnames(model.unobserved_value_vars, include_transformed=False))
    return [v.name for v in outputs], outputs


def _progress(enabled: bool, total: int, chains: int):
    if not enabled:
        return lambda n: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=f"NUTS (JAX, {chains} chains)", unit="it")

    def update(n):
        if n is None:
            bar.close()
        else:
            bar.update(n)
    return update


def _to_idata(model: pm.Model, posterior: dict, stats: dict, elapsed: float):
    import arviz as az

    from hglm.environment import hglm_version

    dims = {name: list(d) for name, d in model.named_vars_to_dims.items() if name in posterior}
    used = {d for ds in dims.values() for d in ds}
    # only the posterior's coordinates, as arrays: ArviZ deep-copies its coords per variable,
    # which for a list of 1M row labels took 40 s (gaussian-1M)
    coords = {k: np.asarray(v) for k, v in model.coords.items() if v is not None and k in used}
    idata = az.from_dict(posterior=posterior, sample_stats=stats, coords=coords, dims=dims)
    for group in ("posterior", "sample_stats"):
        idata[group].attrs.update(sampling_time=elapsed, inference_library="numpyro (hglm)",
                                  hglm_version=hglm_version())
    return idata
