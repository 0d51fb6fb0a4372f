import * as tf from '@tensorflow/tfjs';
import { loadMnist, fitModel, buildDigitsModel } from './src/index.js';
import { installFastCpuKernels } from './src/backend/cpu-kernels.js';
await tf.setBackend('cpu');
installFastCpuKernels();
const d = loadMnist('train', 512);
const m = buildDigitsModel();
const r = await fitModel(m, d, { epochs: 1, batchSize: 32 });
console.log('current', r.samplesPerSec.toFixed(1));
