#!/bin/bash
# Device check: the trainer's WebGPU path on a real GPU (packed by bench/device/pack.sh; run from the repo root).
# Env: SKIP_TRAIN=1, ROUNDS, DRIFTS, RECIPES, T1/T2/T3 (timeouts, s). Writes logs and JSON to $OUT.
S=$(date +%s); el() { echo "[t+$(( $(date +%s) - S ))s] $*"; }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
mkdir -p /tmp/el && xz -dc .dev/node.xz > /tmp/el/node && chmod +x /tmp/el/node && export PATH=/tmp/el:$PATH
tar -xJf .dev/payload.tar.xz -C . && el "unpacked; node $(node --version)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $OUT/gpu.txt
nproc; lscpu | grep -m1 'Model name' | tee -a $OUT/gpu.txt
ls /usr/local/nvidia/share/vulkan/icd.d/ /etc/vulkan/icd.d /usr/share/vulkan/icd.d 2>&1
cd .gpu
node -e "import('webgpu').then(async d=>{const a=await d.create([]).requestAdapter({powerPreference:'high-performance'});console.log('adapter',a&&JSON.stringify({v:a.info.vendor,a:a.info.architecture,d:a.info.description}))})" > /tmp/p.txt 2>&1; cat /tmp/p.txt
if ! grep -q '"v"' /tmp/p.txt; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json VK_ICD_FILENAMES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  node -e "import('webgpu').then(async d=>{const a=await d.create([]).requestAdapter({powerPreference:'high-performance'});console.log('adapter(2)',a&&JSON.stringify({v:a.info.vendor,a:a.info.architecture,d:a.info.description}))})" 2>&1
fi
if [ -z "$SKIP_TRAIN" ]; then
el "train bench, webgpu"
TRAIN_BENCH_BACKEND=webgpu TRAIN_BENCH_ROUNDS=${ROUNDS:-4} timeout ${T1:-200} node b/train.bench.js 2>&1 | tee $OUT/train-webgpu.log
cp b/results/train.json $OUT/train-webgpu.json 2>/dev/null; rm -f b/results/train.json
el "train bench throughput, cpu (same machine)"
TRAIN_BENCH_BACKEND=cpu TRAIN_BENCH_ONLY=throughput TRAIN_BENCH_ROUNDS=2 timeout ${T2:-60} node b/train.bench.js 2>&1 | tee $OUT/train-cpu.log
cp b/results/train.json $OUT/train-cpu.json 2>/dev/null
fi
el "drift bench, webgpu: ${DRIFTS:-rotated}"
DRIFT_BACKEND=webgpu DRIFTS=${DRIFTS:-rotated} DRIFT_RECIPES=${RECIPES:-search} DRIFT_CYCLES=2 timeout ${T3:-240} node b/drift.bench.js 2>&1 | tee $OUT/drift-webgpu.log
cp b/results/drift.json $OUT/drift-webgpu.json 2>/dev/null
el done
