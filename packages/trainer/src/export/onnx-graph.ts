/**
 * OnnxGraph: a tiny builder over the `onnx-proto` message classes — nodes, float/int64 initializers, one input and
 * one output — that encodes to a ModelProto. It knows nothing about TF.js; onnx-layers.ts does the mapping.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type AttrValue = number | number[] | string | { floats: number[] };

/** ONNX opset the exporter targets (Softmax per-axis semantics, Clip with tensor inputs). */
export const OPSET = 13;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export class OnnxGraph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private next = 0;

  /** A fresh tensor name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.next++}`;
  }

  /** Adds a node and returns the name of its (single) output. Integer attributes must be integers. */
  node(
    op: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    output = this.fresh(op.toLowerCase()),
  ): string {
    const attribute = Object.entries(attrs).map(([name, v]) => attr(name, v));
    this.nodes.push({ opType: op, input: inputs, output: [output], name: output, attribute });
    return output;
  }

  /** Adds a float32 initializer with the given dims and returns its name. */
  floats(prefix: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(prefix);
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: littleEndian(bytes, 4) });
    return name;
  }

  /** Adds an int64 initializer (a shape, say) and returns its name. */
  int64s(prefix: string, values: number[]): string {
    const name = this.fresh(prefix);
    const bytes = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: littleEndian(bytes, 8) });
    return name;
  }

  /** Encodes the graph as an ONNX ModelProto with one float input and one float output. */
  encode(opts: {
    name: string;
    input: { name: string; shape: (number | string)[] };
    output: { name: string; shape: (number | string)[] };
    producer: string;
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: opts.producer,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: opts.name,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(opts.input.name, opts.input.shape)],
        output: [valueInfo(opts.output.name, opts.output.shape)],
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, shape: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

function attr(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'object' && !Array.isArray(v)) return { name, type: T.FLOATS, floats: v.floats };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  // ONNX has no "number": whole numbers go out as INT, the rest as FLOAT (alpha, epsilon…).
  return Number.isInteger(v) && !FLOAT_ATTRS.has(name) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

// Attributes that are floats even when the value happens to be whole (alpha = 1, say).
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'gamma', 'epsilon', 'momentum']);

function littleEndian(bytes: Uint8Array, width: number): Uint8Array {
  // ONNX raw_data is little-endian; typed arrays use the host order, which is little-endian everywhere Node runs
  // today, but swap on a big-endian host rather than write a wrong model.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let j = 0; j < width; j++) out[i + j] = bytes[i + width - 1 - j]!;
  return out;
}
