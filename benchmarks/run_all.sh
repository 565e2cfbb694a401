#!/usr/bin/env bash
# Run every benchmark of benchmarks/ in turn; results go to benchmarks/results/.
#
#   bash benchmarks/run_all.sh            # full configurations (several hours on 2 CPU cores, see README.md)
#   QUICK=1 bash benchmarks/run_all.sh    # reduced configurations (about 25 minutes), checks that all scripts run
#
# Each script runs under `nice` ($NICE, default "nice -n 19") so that the machine stays usable; set NICE= to
# run at normal priority (timings are then less disturbed by other work). The script stops at the first failure.
set -euo pipefail

cd "$(dirname "$0")/.."
NICE=${NICE-nice -n 19}
PY=${PYTHON:-python}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"

run() {
    echo "=== $*" >&2
    local start=$SECONDS
    $NICE "$PY" "$@"
    echo "=== $1 finished in $((SECONDS - start)) s" >&2
}

if [[ "${QUICK:-0}" == "1" ]]; then
    run benchmarks/simulate.py --repeats 1
    run benchmarks/cscore.py --repeats 1 --quick
    run benchmarks/sparkx.py --repeats 1 --spots 2500 10000
    run benchmarks/model_quality.py --seeds 0 --max-epochs 100
    run benchmarks/model_speed.py --datasets 6 --epochs 1
    run benchmarks/model_embed.py --seeds 0
    run benchmarks/quality.py --smoke
    run benchmarks/graph_density.py
    run benchmarks/function_real.py --collections immune --no-mlp
    run benchmarks/context_shift.py
else
    run benchmarks/simulate.py
    run benchmarks/cscore.py
    run benchmarks/sparkx.py
    run benchmarks/model_quality.py
    run benchmarks/model_speed.py
    run benchmarks/model_speed.py --datasets 82 --n-genes 2000 --cells 400 600 --modes default --epochs 2 \
        --name model_scale
    run benchmarks/model_embed.py
    run benchmarks/quality.py
    run benchmarks/scaling.py
    run benchmarks/graph_memory.py
    run benchmarks/full_training.py --max-epochs 5
    run benchmarks/reliability.py
    run benchmarks/graph_density.py
    run benchmarks/function_real.py --variants reference,n_comps=256 knn,n_comps=256 --variant-seeds 3 --no-mlp
    run benchmarks/context_shift.py
fi
