"""``hglm report DIR``: one self-contained HTML page (tables inline, figures as data URIs)."""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
pre { background: #f8f8f8; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
img { max-width: 100%; }
"""

_TABLES = [("Fixed effects", "fixef.csv"), ("Variance components", "varcorr.csv"),
           ("Model comparison", "comparison.csv"), ("Prior sensitivity", "sensitivity.csv"),
           ("Prior sweep", "prior_sweep.csv"), ("Bayesian R²", "r2.csv"),
           ("Intraclass correlations", "icc.csv"), ("Hypotheses", "hypotheses.csv"),
           ("Average comparisons", "comparisons.csv"), ("Average slopes", "slopes.csv"),
           ("Group effects", "ranef.csv")]
_FIGURES = [("Traces", "trace.png"), ("Posterior predictive check", "ppc.png"),
            ("Fixed effects", "fixef.png"), ("Group effects", "ranef.png"),
            ("Prior sweep", "prior_sweep.png")]


def _table(path: Path, max_rows: int = 60) -> str:
    frame = pd.read_csv(path)
    note = ""
    if len(frame) > max_rows:
        note = f"<p>First {max_rows} of {len(frame)} rows; all in {html.escape(path.name)}.</p>"
        frame = frame.head(max_rows)
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="",
                         classes="data", border=0) + note


def _figure(path: Path, title: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def write_report(folder: Path, output: Path | None = None) -> Path:
    """Write ``report.html`` for a results folder made by ``hglm run``."""
    if not (folder / "run.json").exists():
        raise FileNotFoundError(f"{folder} is not an hglm results folder (no run.json)")
    run = json.loads((folder / "run.json").read_text())
    spec = run["spec"]
    title = f"hglm: {spec['model']['formula']}"
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Family {html.escape(spec['model'].get('family', 'gaussian'))}; data "
             f"{html.escape(json.dumps(spec['data']))}; seed {run['settings']['seed']}; "
             f"{run['settings']['chains']} chains x {run['settings']['draws']} draws; "
             f"{run['seconds']} s.</p>",
             "<h2>Summary</h2>", f"<pre>{html.escape((folder / 'summary.txt').read_text())}</pre>"]
    if (folder / "comparison.txt").exists():
        parts += ["<h2>Comparison, as printed</h2>",
                  f"<pre>{html.escape((folder / 'comparison.txt').read_text())}</pre>"]
    for heading, name in _TABLES:
        if (folder / name).exists():
            parts += [f"<h2>{heading}</h2>", _table(folder / name)]
    for heading, name in _FIGURES:
        if (folder / name).exists():
            parts += [f"<h2>{heading}</h2>", _figure(folder / name, heading)]
    effects = sorted(folder.glob("conditional_effects_*.png"))
    if effects:
        parts.append("<h2>Conditional effects</h2>")
        parts += [_figure(path, path.stem) for path in effects]
    parts += ["<h2>Priors</h2>", pd.DataFrame(run["priors"]).to_html(index=False, border=0),
              "<h2>Run</h2>", f"<pre>{html.escape(json.dumps(run['versions'], indent=1))}</pre>"]
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    output = output or folder / "report.html"
    fd, tmp = tempfile.mkstemp(prefix=".report.", suffix=".html", dir=output.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.chmod(tmp, 0o644)
    os.replace(tmp, output)
    return output
