#!/usr/bin/env bash
# The GPU measurements of benchmarks/, for a machine with one CUDA GPU; results go to benchmarks/results/
# under names ending in _cuda (the CPU results are left alone).
#
#   bash benchmarks/run_gpu.sh          # all parts (about 25 minutes on one H100)
#   bash benchmarks/run_gpu.sh PART...  # some of: tests graphs scaling full
#
# tests    the test suite's GPU tests (CS-CORE/SPARK-X GPU vs CPU, DDP with NCCL, bf16), -k "cuda or gpu"
# graphs   CS-CORE (`cscore.py`, both sizes, GPU rows) and SPARK-X (`sparkx.py --device cuda`)
# scaling  `scaling.py --accelerator cuda` (T × genes grid, seconds per epoch, peak GPU memory)
# full     `full_training.py --accelerator cuda`, fp32 and bf16-mixed: the full default training of
#          82 datasets × 2,000 genes (issue 7's goal: under 10 minutes on one H100)
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'run_gpu.sh: no CUDA GPU visible to torch')"
PARTS=("$@")
[[ ${#PARTS[@]} -eq 0 ]] && PARTS=(tests graphs scaling full)

run() {
    echo "=== $*" >&2
    local start=$SECONDS
    "$PY" "$@"
    echo "=== $1 finished in $((SECONDS - start)) s" >&2
}

for part in "${PARTS[@]}"; do
    case "$part" in
        tests) run -m pytest -q -m "not slow" -k "cuda or gpu or bf16 or distributed" tests ;;
        graphs)
            run benchmarks/cscore.py --repeats 3 --name cscore_cuda
            run benchmarks/sparkx.py --device cuda --name sparkx_cuda ;;
        scaling) run benchmarks/scaling.py --accelerator cuda --no-ddp --name scaling_cuda ;;
        full)
            run benchmarks/full_training.py --accelerator cuda --name full_training_cuda
            run benchmarks/full_training.py --accelerator cuda --precision bf16-mixed --name full_training_cuda_bf16 ;;
        *) echo "run_gpu.sh: unknown part '$part' (tests, graphs, scaling, full)" >&2; exit 2 ;;
    esac
done
