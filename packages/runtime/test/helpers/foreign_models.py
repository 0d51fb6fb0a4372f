"""Makes small image classifiers with conventions other than edgeloop's own (channels first, logits, sigmoid
multi-label heads, uint8 input, Gemm and MatMul heads, opsets 8, 13 and 17) with PyTorch, as a team bringing its
own model would, and the inputs to check them on: the raw input an app passes (channels last) and, computed here
with NumPy independently of the runtime, the tensor the model must receive.

Usage: python3 foreign_models.py OUT_DIR   (writes OUT_DIR/<name>.onnx and OUT_DIR/cases.json)
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from torch import nn

H = W = 8
C = 3
EXAMPLES = 8
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class ConvGemm(nn.Module):
    """Conv → ReLU → MaxPool → Flatten → Linear (exported as Gemm): unnormalised logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(4 * (H // 2) * (W // 2), 10)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class MatMulHead(nn.Module):
    """Flatten → x @ W + b (exported as MatMul + Add): one logit per label, multi-label."""

    def __init__(self, labels):
        super().__init__()
        self.w = nn.Parameter(torch.randn(C * H * W, labels) * 0.3)
        self.b = nn.Parameter(torch.randn(labels) * 0.1)

    def forward(self, x):
        return torch.matmul(torch.flatten(x, 1), self.w) + self.b


class Uint8Softmax(nn.Module):
    """Bytes in (uint8, cast and scaled in the graph) → Conv → ReLU → global average pool → Linear → Softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C, 6, 3, padding=1)
        self.head = nn.Linear(6, 10)

    def forward(self, x):
        x = x.float() / 255.0
        y = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return torch.softmax(self.head(y), dim=1)


def export(model, example, path, opset, dynamic):
    model.eval()
    axes = {'pixels': {0: 'batch'}, 'scores': {0: 'batch'}} if dynamic else None
    torch.onnx.export(model, example, path, input_names=['pixels'], output_names=['scores'], opset_version=opset, dynamic_axes=axes, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return {'opset': max(o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')), 'ops': sorted({n.op_type for n in m.graph.node})}


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(12)
    rng = np.random.default_rng(12)
    cases = {}

    # Pixels 0..255 channels last, as an app reads them from a canvas; the model wants (p / 255 − mean) / std, NCHW.
    raw = rng.integers(0, 256, size=(EXAMPLES, H, W, C)).astype(np.float32)
    model_in = ((raw / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)).transpose(0, 3, 1, 2).astype(np.float32)
    info = export(ConvGemm(), torch.zeros(1, C, H, W), f'{out}/nchw-gemm-logits.onnx', 8, True)
    cases['nchw-gemm-logits'] = {
        **info,
        'labels': [str(i) for i in range(10)],
        'input': {'shape': [H, W, C], 'dtype': 'float32', 'layout': 'nchw', 'normalize': {'scale': 1 / 255, 'offset': 0, 'mean': MEAN, 'std': STD}},
        'output': {'kind': 'logits', 'temperature': 1.5},
        'raw': raw.reshape(EXAMPLES, -1).tolist(),
        'model': model_in.reshape(EXAMPLES, -1).tolist(),
        'modelShape': [C, H, W],
        'modelDtype': 'float32',
    }

    # Floats in [0, 1] channels last; the model wants them as they are, NCHW, one example at a time (fixed batch).
    raw = rng.random(size=(EXAMPLES, H, W, C)).astype(np.float32)
    labels = ['cat', 'dog', 'car', 'tree']
    info = export(MatMulHead(len(labels)), torch.zeros(1, C, H, W), f'{out}/nchw-matmul-sigmoid.onnx', 13, False)
    cases['nchw-matmul-sigmoid'] = {
        **info,
        'labels': labels,
        'input': {'shape': [H, W, C], 'dtype': 'float32', 'layout': 'nchw', 'normalize': {'scale': 1, 'offset': 0}},
        'output': {'kind': 'sigmoid'},
        'raw': raw.reshape(EXAMPLES, -1).tolist(),
        'model': raw.transpose(0, 3, 1, 2).reshape(EXAMPLES, -1).tolist(),
        'modelShape': [C, H, W],
        'modelDtype': 'float32',
    }

    # Bytes channels last; the model takes the bytes themselves (uint8), NCHW, and ends in its own softmax.
    raw = rng.integers(0, 256, size=(EXAMPLES, H, W, C)).astype(np.uint8)
    info = export(Uint8Softmax(), torch.zeros(1, C, H, W, dtype=torch.uint8), f'{out}/uint8-nchw-softmax.onnx', 17, True)
    cases['uint8-nchw-softmax'] = {
        **info,
        'labels': [str(i) for i in range(10)],
        'input': {'shape': [H, W, C], 'dtype': 'uint8', 'layout': 'nchw', 'normalize': {'scale': 1, 'offset': 0}},
        'raw': raw.reshape(EXAMPLES, -1).tolist(),
        'model': raw.transpose(0, 3, 1, 2).reshape(EXAMPLES, -1).tolist(),
        'modelShape': [C, H, W],
        'modelDtype': 'uint8',
    }

    with open(f'{out}/cases.json', 'w') as f:
        json.dump({'torch': torch.__version__, 'onnx': onnx.__version__, 'cases': cases}, f)


if __name__ == '__main__':
    main(sys.argv[1])
