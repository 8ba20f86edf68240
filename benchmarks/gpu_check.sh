#!/usr/bin/env bash
# The GPU checks, prepared for the first session lent a CUDA machine; about 10 minutes in all.
#
#   bash benchmarks/gpu_check.sh                 # writes under $OUT, else benchmarks/results/gpu-check
#
# 1. `pytest -m cuda`: the CUDA and TensorRT tests (backends agree with eager, fp16 within 40 dB)
# 2. the speed table on CUDA (benchmarks/speed.py): eager fp32/fp16/bf16, optimized fp32/fp16/bf16,
#    fp16 + torch.compile, TensorRT fp32/fp16 when torch-tensorrt is installed (otherwise listed as
#    skipped with the reason), at 512 and 2048 pixels, 5 repeats, the backends taking turns
# 3. DnCNN training-step throughput on CUDA (benchmarks/train_step_speed.py --device cuda)
# Each step has its own time limit and its output goes to a log file beside the records; a step
# that fails is reported and the next one still runs. Exits 0 with "no CUDA device" on a machine
# without one, having run nothing.
set -uo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python}"
if ! "$python_bin" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "no CUDA device: torch sees none here, so there is nothing to check (run this on a GPU machine)"
    exit 0
fi

out="${OUT:-benchmarks/results/gpu-check}"
mkdir -p "$out"
echo "writing under $out"
export RESTORE_RUNS="$out/runs"
export RESTORE_TRT_CACHE="$out/trt-cache"

{
    nvidia-smi || true
    "$python_bin" -c 'import json, torch; from restore_core.system.hardware import hardware
print(json.dumps(hardware(), indent=1)); print("torch", torch.__version__, "cuda", torch.version.cuda)'
    "$python_bin" -m pip list 2>/dev/null | grep -i -E '^(torch|onnx|openvino|tensorrt|nvidia)' || true
} > "$out/machine.txt" 2>&1
cat "$out/machine.txt"

failed=()
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $out/NAME.log, remember failures
    local name="$1" limit="$2"
    shift 2
    echo "== $name (at most ${limit}s): $*"
    local start=$SECONDS
    timeout --signal=INT --kill-after=20 "$limit" "$@" > "$out/$name.log" 2>&1
    local rc=$?
    tail -n 25 "$out/$name.log"
    echo "== $name: exit $rc after $((SECONDS - start))s"
    [ "$rc" -eq 0 ] || failed+=("$name (exit $rc)")
}

step pytest-cuda 180 "$python_bin" -m pytest -q -m cuda -p no:cacheprovider tests
step speed-cuda 300 "$python_bin" benchmarks/speed.py --sizes 512,2048 --repeats 5 --models dncnn17,dncnn7,unet,srcnn \
    --backends eager:device=cuda,eager:device=cuda,precision=fp16,eager:device=cuda,precision=bf16 \
    --backends optimized:device=cuda,precision=fp32,optimized:device=cuda,precision=fp16 \
    --backends optimized:device=cuda,precision=bf16,optimized:device=cuda,precision=fp16,compile=true \
    --backends tensorrt:precision=fp32,tensorrt:precision=fp16 \
    --out "$out/speed-cuda"
step train-cuda 90 "$python_bin" benchmarks/train_step_speed.py --device cuda --steps 20 \
    --out "$out/train_step_speed_cuda.json"

if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]} (logs in $out)"
    exit 1
fi
echo "all GPU checks passed; records in $out"
