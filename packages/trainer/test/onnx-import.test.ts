/**
 * ONNX import: models exported by real PyTorch (NCHW input, logits or softmax output, Gemm and MatMul heads,
 * BatchNorm, padded and global pools; opsets 8, 13 and 17) become TF.js models that match onnxruntime-web on real
 * digits, and export again with their own input and output names and layout. Unsupported graphs fail with a code.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { checkParity, exportOnnx, importOnnx, isTrainerError, loadMnist, take, useBackend } from '../src/index.js';
import { asNchw, makeTorchModels, type TorchModels } from './helpers/torch.js';

let torch: TorchModels;
const golden = asNchw(take(loadMnist('golden'), 200));

before(async () => {
  await useBackend('cpu');
  torch = makeTorchModels();
});

after(() => {
  if (torch) rmSync(torch.dir, { recursive: true, force: true });
});

async function session(bytes: Uint8Array) {
  ort.env.wasm.numThreads = 1;
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
}

for (const name of ['cnn-opset13', 'cnn-opset8', 'mlp-opset17', 'mlp-softmax-opset13']) {
  test(`importOnnx: ${name} matches onnxruntime-web on real digits and exports again with its own names and layout`, async (t) => {
    const bytes = torch.bytes(name);
    const imported = importOnnx(bytes);
    assert.deepEqual(imported.names, { input: 'pixels', output: 'logits' });
    assert.deepEqual(imported.inputShape, [1, 28, 28], 'the TF.js model takes the NCHW tensor the app feeds');
    assert.equal(imported.opset, torch.made[name]!.opset);
    assert.equal(imported.output, torch.made[name]!.output);
    const parity = await checkParity(imported.model, bytes, {
      names: imported.names,
      inputs: golden.x,
      count: golden.count,
    });
    assert.ok(parity.maxAbsDiff <= 1e-4, `import parity ${parity.maxAbsDiff}`);
    t.diagnostic(`import parity on ${golden.count} golden digits: max abs diff ${parity.maxAbsDiff.toExponential(2)}`);

    const again = await exportOnnx(imported.model, 'test', imported.names);
    const reexported = await checkParity(imported.model, again, {
      names: imported.names,
      inputs: golden.x,
      count: golden.count,
    });
    assert.ok(reexported.maxAbsDiff <= 1e-4, `export parity ${reexported.maxAbsDiff}`);
    const s = await session(again);
    assert.deepEqual([s.inputNames, s.outputNames], [['pixels'], ['logits']]);
    const dims = (s.inputMetadata[0] as unknown as { shape: readonly (number | string)[] }).shape;
    assert.deepEqual(dims.slice(1), [1, 28, 28], 'NCHW in, as the original');
    const graph = onnxProto.onnx.ModelProto.decode(again).graph!;
    assert.ok(!graph.node!.some((n) => n.opType === 'Transpose'), 'NCHW end to end: no Transpose is written');
    assert.equal(
      graph.node!.some((n) => n.opType === 'Softmax'),
      imported.output === 'probabilities',
      'no softmax appended to logits',
    );
    await s.release();
    imported.model.dispose();
  });
}

test('importOnnx: unsupported ops are all listed with their node names, with a stable code', () => {
  assert.throws(
    () => importOnnx(torch.bytes('unsupported-opset13')),
    (e: unknown) => {
      assert.ok(isTrainerError(e, 'ELT_UNSUPPORTED_OP'), String(e));
      assert.equal(e.exitCode, 9);
      for (const part of [
        'Erf (node "/Erf")',
        'Div (node "/Div")',
        'Mul (node "/Mul")',
        'Mul (node "/Mul_1")',
        'Resize (node "/up/Resize")',
      ]) {
        assert.ok(e.message.includes(part), `${part} in: ${e.message}`);
      }
      return true;
    },
  );
});

test('importOnnx: an opset outside 7 to 21 and bytes that are not ONNX are refused with clear errors', () => {
  const m = onnxProto.onnx.ModelProto.decode(torch.bytes('mlp-opset17'));
  m.opsetImport = [{ domain: '', version: 6 }];
  assert.throws(
    () => importOnnx(onnxProto.onnx.ModelProto.encode(m).finish()),
    (e: unknown) => isTrainerError(e, 'ELT_UNSUPPORTED_OP') && /opset 6 \(opsets 7 to 21/.test(e.message),
  );
  assert.throws(
    () => importOnnx(new TextEncoder().encode('{"not": "onnx"}')),
    (e: unknown) => isTrainerError(e, 'ELT_BAD_MODEL'),
  );
});
