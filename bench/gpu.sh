#!/usr/bin/env bash
# JAX-on-GPU figures for the largest bench models (bench/RESULTS.md, "JAX on GPU").
# Run from the repository root on a GPU machine whose python has JAX with CUDA; hglm's own
# dependencies missing there come as wheels in .whl/ (bench/RESULTS.md says which).
# Writes each model's BENCH line to $OUT/gpu.log (or ./gpu.log).
set -u
out=${OUT:-.}
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
# PyTensor's C backend compiles only the starting-point function here; without Python's
# headers it would fail, and the Python backend does the same work
python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' \
  || export PYTENSOR_FLAGS=cxx=
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$out/gpu.log"
python3 -c 'import jax, numpyro, pymc, pandas, numpy; print("jax", jax.__version__, jax.devices(), "numpyro", numpyro.__version__, "pymc", pymc.__version__, "pandas", pandas.__version__, "numpy", numpy.__version__)' 2>&1 | tee -a "$out/gpu.log"
run() {  # model, seconds allowed
  /usr/bin/time -v timeout "$2" python3 -m bench.device "$1" > "$out/$1.txt" 2>&1
  echo "rc=$? $1" | tee -a "$out/gpu.log"
  grep -E "^BENCH|Maximum resident|Error|error" "$out/$1.txt" | tail -5 | tee -a "$out/gpu.log"
}
run gaussian-10k 120
grep -q '^BENCH' "$out/gaussian-10k.txt" || { tail -30 "$out/gaussian-10k.txt"; exit 1; }
for m in ${MODELS:-gaussian-10M poisson-1M gaussian-1M}; do run "$m" "${LIMIT:-240}"; done
