/**
 * Shape arithmetic on constants, what PyTorch writes for `x.view(x.size(0), -1)`: Shape, Gather, Unsqueeze, Squeeze,
 * Concat, Cast and Constant nodes are evaluated while importing (the batch dimension is `null`), so the Reshape they
 * feed sees a constant target shape.
 */
import { int, need, onnxShape, unsupportedUse, type OpContext, type ShapeValue } from './onnx-ops.js';

/** A converter per shape-arithmetic op. */
export const SHAPE_OPS: Record<string, (c: OpContext) => ShapeValue> = {
  Constant(c) {
    const v = c.node.attrs.value;
    if (v && typeof v === 'object' && !Array.isArray(v)) return { dims: v.dims, data: [...v.data] };
    const ints_ = c.node.attrs.value_ints ?? c.node.attrs.value_int;
    if (ints_ !== undefined)
      return Array.isArray(ints_)
        ? { dims: [ints_.length], data: ints_.map(Number) }
        : { dims: [], data: [Number(ints_)] };
    throw unsupportedUse(c.node, 'without a tensor or integer value');
  },
  Shape(c) {
    const s = onnxShape(need(c));
    const start = int(c.node.attrs.start, 0);
    const end = int(c.node.attrs.end, s.length);
    const data = s.slice(start, end);
    return { dims: [data.length], data };
  },
  Gather(c) {
    const data = value(c, 0);
    const idx = value(c, 1);
    if (int(c.node.attrs.axis, 0) !== 0 || data.dims.length !== 1)
      throw unsupportedUse(c.node, 'other than on a 1-D shape');
    const picked = idx.data.map((i) => data.data[(i ?? 0) < 0 ? data.data.length + (i ?? 0) : (i ?? 0)] ?? null);
    return { dims: idx.dims, data: picked };
  },
  Unsqueeze(c) {
    const v = value(c, 0);
    return { dims: v.dims.length === 0 ? [1] : [...v.dims, 1], data: v.data };
  },
  Squeeze(c) {
    const v = value(c, 0);
    return { dims: v.data.length === 1 ? [] : v.dims.filter((d) => d !== 1), data: v.data };
  },
  Concat(c) {
    const parts = c.node.inputs.map((_, i) => value(c, i));
    const data = parts.flatMap((p) => p.data);
    return { dims: [data.length], data };
  },
  Cast: (c) => value(c, 0),
};

function value(c: OpContext, i: number): ShapeValue {
  const v = c.shapeValue(i);
  if (!v) throw unsupportedUse(c.node, 'on activations (only on shapes and constants)');
  return v;
}
