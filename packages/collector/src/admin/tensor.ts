/** Draws a device's input (a grayscale image, e.g. 28×28 MNIST) on a canvas so a reviewer can see it. */
import { h } from './dom.js';

export interface Tensor {
  dtype: 'float32' | 'uint8';
  shape: number[];
  data: string;
}

/** A canvas of the input when it is a 2-D grayscale image, else a line saying what it is. */
export function drawInput(input: Tensor | null): HTMLElement {
  if (!input) return h('span', { class: 'muted' }, 'input not uploaded');
  const dims = input.shape.filter((d) => d > 1);
  const [height, width] = dims;
  if (dims.length !== 2 || !height || !width) return h('span', { class: 'muted' }, `tensor ${input.shape.join('×')}`);
  const bytes = Uint8Array.from(atob(input.data), (c) => c.charCodeAt(0));
  const values = input.dtype === 'float32' ? new Float32Array(bytes.buffer, 0, Math.floor(bytes.length / 4)) : bytes;
  const scale = input.dtype === 'float32' ? 255 : 1;
  const canvas = h('canvas', { class: 'input', title: `${input.dtype} ${input.shape.join('×')}` });
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(255, Math.round((values[i] ?? 0) * scale)));
    image.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}
