/**
 * Turns the drawing pad into what the digits model expects (MNIST convention): white strokes on black,
 * the digit's bounding box scaled to fit 20 × 20 and centred by its centre of mass in 28 × 28, values in [0, 1].
 */
export function toMnistInput(pad: HTMLCanvasElement): Float32Array | null {
  const ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const { width, height } = pad;
  const pixels = ctx.getImageData(0, 0, width, height).data;
  let minX = width,
    minY = height,
    maxX = -1,
    maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (pixels[(y * width + x) * 4]! > 32) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  const boxW = maxX - minX + 1;
  const boxH = maxY - minY + 1;
  const scale = 20 / Math.max(boxW, boxH);
  const small = document.createElement('canvas');
  small.width = 28;
  small.height = 28;
  const sctx = small.getContext('2d', { willReadFrequently: true })!;
  sctx.fillStyle = '#000';
  sctx.fillRect(0, 0, 28, 28);
  sctx.imageSmoothingQuality = 'high';
  const w = boxW * scale;
  const h = boxH * scale;
  sctx.drawImage(pad, minX, minY, boxW, boxH, (28 - w) / 2, (28 - h) / 2, w, h);
  const data = sctx.getImageData(0, 0, 28, 28).data;
  const out = new Float32Array(28 * 28);
  let mass = 0,
    cx = 0,
    cy = 0;
  for (let i = 0; i < out.length; i++) {
    const v = data[i * 4]! / 255;
    out[i] = v;
    mass += v;
    cx += v * (i % 28);
    cy += v * Math.floor(i / 28);
  }
  // Shift so the centre of mass sits at the centre, as MNIST's own preprocessing did.
  const dx = Math.round(13.5 - cx / mass);
  const dy = Math.round(13.5 - cy / mass);
  if (dx === 0 && dy === 0) return out;
  const shifted = new Float32Array(28 * 28);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      const sy = y - dy;
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) shifted[y * 28 + x] = out[sy * 28 + sx]!;
    }
  }
  return shifted;
}
