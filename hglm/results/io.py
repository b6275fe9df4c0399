"""Saving and loading fits: a folder of plain files, written atomically, read without pickle.

``model.json`` holds the model's spec (:class:`hglm.ModelSpec`: formula, family, link, user
priors as strings, strategy, centering), the arguments of ``fit``, sampler settings and
package versions; ``data.parquet`` the rows and columns the formula reads; ``idata.nc`` the
InferenceData.  Loading rebuilds the model from these, so defaults are re-derived exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import arviz as az
import pandas as pd

from hglm.environment import versions

__all__ = ["save_fit", "read_fit"]

FORMAT = 1


def save_fit(fit, path: str | os.PathLike, overwrite: bool = False) -> None:
    path = Path(path)
    # a saved fit is reloaded from its spec and rows; moment points are not rows
    fit.design.require_rows("saving a fit (its model is rebuilt from the rows on loading)")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    if path.exists() and not (path / "model.json").exists():
        raise FileExistsError(f"{path} exists and is not a saved hglm fit; not replacing it")
    path.parent.mkdir(parents=True, exist_ok=True)
    model = fit.model
    spec = {
        "format": FORMAT,
        **model.spec.to_dict(),            # formula, family, link, priors, strategy, centered
        "parameterization": model.parameterization,
        "settings": fit.settings.to_dict(),
        "elapsed": fit.elapsed,
        "notes": fit.notes,
        "call": fit.call,
        "versions": versions(),
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.data.reset_index(drop=True).to_parquet(tmp / "data.parquet")
        fit.idata.to_netcdf(str(tmp / "idata.nc"))
        (tmp / "model.json").write_text(json.dumps(spec, indent=2))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old)
        else:
            tmp.rename(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def read_fit(path: str | os.PathLike) -> dict:
    """What ``save_fit`` wrote, as a plain bundle (``hglm.load`` rebuilds the fit from it):
    the model spec's fields, ``data``, ``idata``, ``settings``, ``elapsed``, ``notes``,
    ``call``."""
    path = Path(path)
    if not (path / "model.json").exists():
        raise FileNotFoundError(f"{path} is not a saved hglm fit (no model.json)")
    record = json.loads((path / "model.json").read_text())
    if record.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown fit format {record.get('format')!r}")
    record["data"] = pd.read_parquet(path / "data.parquet")
    record["idata"] = az.from_netcdf(str(path / "idata.nc"))
    return record
