/**
 * OnnxReader: an ONNX ModelProto (decoded by `onnx-proto`) as plain data — its opset, its one input and one output,
 * its nodes with attributes as numbers and strings, and its constant tensors (initializers) as typed arrays.
 */
import onnxProto from 'onnx-proto';
import { TrainerError } from '../errors.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

/** A constant tensor: its dims and values (floats as float32, integers as numbers). */
export interface Constant {
  dims: number[];
  data: Float32Array | number[];
}

export type Attribute = number | number[] | string | Constant;

export interface OnnxNode {
  op: string;
  domain: string;
  /** The node's name, or its first output's when it has none (what error messages show). */
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attribute>;
}

/** One graph input or output: its name, element type (ONNX DataType name) and dims (null: symbolic). */
export interface OnnxValue {
  name: string;
  elemType: string;
  shape: (number | null)[];
}

export interface OnnxModelData {
  opset: number;
  producer: string;
  input: OnnxValue;
  output: OnnxValue;
  nodes: OnnxNode[];
  constants: Map<string, Constant>;
}

/** The opsets the importer reads. */
export const OPSET_RANGE = { min: 7, max: 21 } as const;

/** Decodes ONNX bytes; throws ELT_BAD_MODEL for bytes that are not one, ELT_UNSUPPORTED_OP for an opset outside 7–21. */
export function readOnnx(bytes: Uint8Array): OnnxModelData {
  let m: onnxProto.onnx.IModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new TrainerError('ELT_BAD_MODEL', [`not an ONNX model (${(e as Error).message})`], { cause: e });
  }
  const g = m.graph;
  if (!g) throw new TrainerError('ELT_BAD_MODEL', ['the ONNX model has no graph']);
  const opset = (m.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => num(o.version))[0];
  if (opset === undefined) throw new TrainerError('ELT_BAD_MODEL', ['the ONNX model imports no default-domain opset']);
  if (opset < OPSET_RANGE.min || opset > OPSET_RANGE.max) {
    throw new TrainerError('ELT_UNSUPPORTED_OP', [
      `opset ${opset} (opsets ${OPSET_RANGE.min} to ${OPSET_RANGE.max} are supported; re-export with one of them)`,
    ]);
  }
  const constants = new Map<string, Constant>();
  for (const t of g.initializer ?? []) constants.set(t.name ?? '', tensor(t));
  // Before IR version 4 initializers are listed among the graph inputs too: the real inputs are the others.
  const inputs = (g.input ?? []).filter((i) => !constants.has(i.name ?? ''));
  const outputs = g.output ?? [];
  if (inputs.length !== 1 || outputs.length !== 1) {
    throw new TrainerError('ELT_BAD_MODEL', [
      `the ONNX graph has ${inputs.length} inputs and ${outputs.length} outputs (one of each is supported)`,
    ]);
  }
  const nodes: OnnxNode[] = (g.node ?? []).map((n, i) => ({
    op: n.opType ?? '',
    domain: n.domain ?? '',
    name: n.name || n.output?.[0] || `node ${i}`,
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', attribute(a)])),
  }));
  return {
    opset,
    producer: [m.producerName, m.producerVersion].filter(Boolean).join(' '),
    input: value(inputs[0]!),
    output: value(outputs[0]!),
    nodes,
    constants,
  };
}

function value(v: onnxProto.onnx.IValueInfoProto): OnnxValue {
  const t = v.type?.tensorType;
  const elemType = T[t?.elemType ?? 0] ?? String(t?.elemType);
  const shape = (t?.shape?.dim ?? []).map((d) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null));
  return { name: v.name ?? '', elemType, shape };
}

function attribute(a: onnxProto.onnx.IAttributeProto): Attribute {
  switch (a.type) {
    case A.INT:
      return num(a.i ?? 0);
    case A.FLOAT:
      return a.f ?? 0;
    case A.INTS:
      return (a.ints ?? []).map(num);
    case A.FLOATS:
      return [...(a.floats ?? [])];
    case A.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case A.TENSOR:
      return tensor(a.t!);
    default:
      return `<${A[a.type ?? 0] ?? a.type}>`;
  }
}

/** A TensorProto as a Constant (float, double, int32/64 and bool); external data is refused. */
export function tensor(t: onnxProto.onnx.ITensorProto): Constant {
  const dims = (t.dims ?? []).map(num);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new TrainerError('ELT_BAD_MODEL', [
      `tensor "${t.name}" keeps its data in an external file (export the model with the weights inside it)`,
    ]);
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = () => new DataView(raw!.buffer, raw!.byteOffset, raw!.byteLength);
  switch (t.dataType) {
    case T.FLOAT: {
      if (!raw) return { dims, data: Float32Array.from(t.floatData ?? []) };
      const dv = view();
      return { dims, data: Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => dv.getFloat32(i * 4, true)) };
    }
    case T.DOUBLE: {
      if (!raw) return { dims, data: Float32Array.from(t.doubleData ?? []) };
      const dv = view();
      return { dims, data: Float32Array.from({ length: raw.byteLength / 8 }, (_, i) => dv.getFloat64(i * 8, true)) };
    }
    case T.INT64: {
      if (!raw) return { dims, data: (t.int64Data ?? []).map(num) };
      const dv = view();
      return { dims, data: Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(dv.getBigInt64(i * 8, true))) };
    }
    case T.INT32:
    case T.BOOL:
    case T.INT8:
    case T.UINT8:
    case T.INT16:
    case T.UINT16: {
      if (!raw) return { dims, data: (t.int32Data ?? []).map(num) };
      if (t.dataType === T.INT32) {
        const dv = view();
        return { dims, data: Array.from({ length: raw.byteLength / 4 }, (_, i) => dv.getInt32(i * 4, true)) };
      }
      return { dims, data: Array.from(raw) };
    }
    default:
      throw new TrainerError('ELT_BAD_MODEL', [
        `tensor "${t.name}" has data type ${T[t.dataType ?? 0] ?? t.dataType} (float, double and integer tensors are supported)`,
      ]);
  }
}

/** A protobuf integer (a number, or a Long when protobufjs found the `long` package) as a number. */
export function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
