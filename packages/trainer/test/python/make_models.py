"""
Small image classifiers made with PyTorch and exported to ONNX, as a team bringing its own model would: NCHW input,
logits output (or a softmax), Gemm or MatMul heads, BatchNorm, pools; opsets 8, 13 and 17. Used by the trainer's
import tests (run with Debian's python3-torch and python3-onnx).

usage: make_models.py OUT_DIR [--train X.f32 Y.i32 N] [--epochs E]
       make_models.py OUT_DIR --multilabel X.f32 Y.f32 N K
  (train: N MNIST images 1×28×28 float32, labels int32; E epochs, default 2;
   multilabel: only a multi-label MLP trained with BCE on N images and their K-label multi-hot float32 targets,
   exported with logits output "tags" and input "pixels" as multilabel-mlp.onnx)
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'examples', 'pytorch'))
from model import DigitsCnn  # noqa: E402

torch.manual_seed(0)


# The CNN of the PyTorch example (examples/pytorch/model.py): conv → ReLU → BN → MaxPool → conv → ReLU → AvgPool →
# flatten (C, H, W order) → Gemm → ReLU → Dropout → Gemm. BatchNorm after the ReLU, since one right after a conv is
# folded into it by the export.
Cnn = DigitsCnn


class StridedCnn(nn.Module):
    """Strided conv with symmetric padding, LeakyReLU, BN, a padded MaxPool after a ReLU, GlobalAveragePool, Gemm."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, stride=2, padding=2)
        self.act1 = nn.LeakyReLU(0.1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.bn(self.act1(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class Mlp(nn.Module):
    """x.view(batch, -1) (Shape/Gather/Reshape) → MatMul + Add → Tanh → BN1d → Gemm → Sigmoid → Gemm → Softmax."""

    def __init__(self, softmax):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 48) * 0.05)
        self.b = nn.Parameter(torch.zeros(48))
        self.bn = nn.BatchNorm1d(48)
        self.fc1 = nn.Linear(48, 24)
        self.fc2 = nn.Linear(24, 10)
        self.softmax = softmax

    def forward(self, x):
        x = x.view(x.size(0), -1)
        x = self.bn(torch.tanh(x @ self.w + self.b))
        x = self.fc2(torch.sigmoid(self.fc1(x)))
        return torch.softmax(x, dim=1) if self.softmax else x


class Unsupported(nn.Module):
    """GELU (Erf, Div, Mul) and Upsample (Resize): ops the importer does not know."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.up = nn.Upsample(scale_factor=2)
        self.fc = nn.Linear(4 * 52 * 52, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.up(nn.functional.gelu(self.conv(x))), 1))


class MultiLabelMlp(nn.Module):
    """Flatten → Gemm → ReLU → Gemm: one logit per label (the app applies a sigmoid to each)."""

    def __init__(self, k):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, k)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


def train_multilabel(x, y, k, epochs=4):
    model = MultiLabelMlp(k)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return model


def randomize(model):
    """Non-trivial BatchNorm statistics, so that parity means something."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
    return model


def train(model, x, y, epochs=2):
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return model


def export(model, path, opset, input_name='pixels', output_name='logits'):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(2, 1, 28, 28), path, opset_version=opset,
        input_names=[input_name], output_names=[output_name],
        dynamic_axes={input_name: {0: 'batch'}, output_name: {0: 'batch'}},
    )


def main():
    out = sys.argv[1]
    made = {}
    if '--multilabel' in sys.argv:
        i = sys.argv.index('--multilabel')
        n, k = int(sys.argv[i + 3]), int(sys.argv[i + 4])
        x = torch.from_numpy(np.fromfile(sys.argv[i + 1], dtype=np.float32).reshape(n, 1, 28, 28))
        y = torch.from_numpy(np.fromfile(sys.argv[i + 2], dtype=np.float32).reshape(n, k))
        model = train_multilabel(x, y, k)
        export(model, f'{out}/multilabel-mlp.onnx', 13, 'pixels', 'tags')
        # The same model with the sigmoid in its graph, as some teams export it: probabilities, not logits.
        export(nn.Sequential(model, nn.Sigmoid()), f'{out}/multilabel-mlp-sigmoid.onnx', 13, 'pixels', 'tags')
        print(json.dumps({'multilabel-mlp': {'opset': 13, 'output': 'logits'},
                          'multilabel-mlp-sigmoid': {'opset': 13, 'output': 'sigmoid'}}))
        return
    specs = [
        ('cnn-opset13', randomize(Cnn()), 13, 'logits'),
        ('cnn-opset8', randomize(StridedCnn()), 8, 'logits'),
        ('mlp-opset17', randomize(Mlp(False)), 17, 'logits'),
        ('mlp-softmax-opset13', randomize(Mlp(True)), 13, 'probabilities'),
        ('unsupported-opset13', Unsupported(), 13, 'logits'),
    ]
    for name, model, opset, kind in specs:
        export(model, f'{out}/{name}.onnx', opset)
        made[name] = {'opset': opset, 'output': kind}
    if '--train' in sys.argv:
        i = sys.argv.index('--train')
        n = int(sys.argv[i + 3])
        x = torch.from_numpy(np.fromfile(sys.argv[i + 1], dtype=np.float32).reshape(n, 1, 28, 28))
        y = torch.from_numpy(np.fromfile(sys.argv[i + 2], dtype=np.int32).astype(np.int64))
        epochs = int(sys.argv[sys.argv.index('--epochs') + 1]) if '--epochs' in sys.argv else 2
        trained = train(Cnn(), x, y, epochs)
        export(trained, f'{out}/trained-cnn-opset13.onnx', 13, 'image', 'scores')
        # The checkpoint examples/pytorch/finetune.py starts from (its DigitsCnn has the same layers as Cnn).
        torch.save(trained.state_dict(), f'{out}/trained-cnn.pt')
        made['trained-cnn-opset13'] = {'opset': 13, 'output': 'logits'}
    print(json.dumps(made))


if __name__ == '__main__':
    main()
