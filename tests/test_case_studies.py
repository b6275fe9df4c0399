"""Every case study runs end to end (with few draws; `hglm case-study NAME` runs full size)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parent.parent / "case_studies"
STUDIES = sorted(p.stem for p in FOLDER.glob("*.py"))


def test_there_are_case_studies():
    assert {"sleepstudy", "cbpp"} <= set(STUDIES)


@pytest.mark.slow
@pytest.mark.parametrize("name", STUDIES)
def test_case_study_executes(name, tmp_path):
    env = {**os.environ, "HGLM_CASE_DRAWS": "60", "HGLM_CASE_CHAINS": "2", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(FOLDER / f"{name}.py")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "a case study ends by printing its interpretation"
