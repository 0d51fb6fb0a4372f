"""
Closes edgeloop's loop in PyTorch: reads what `edgeloop-trainer pull` wrote (new corrections, a replay sample of the
old data, the golden set, labels), fine-tunes the team's checkpoint on new + replayed examples, and exports the
candidate to ONNX with the names, layout and output kind the app already uses (from pull.json), for
`edgeloop-trainer publish` to gate and publish.

usage: finetune.py PULL_DIR --checkpoint model.pt --out candidate.onnx [--save model-next.pt] [--epochs 4] [--lr 5e-4]
"""
import argparse
import json
import os

import numpy as np
import torch
from torch import nn

from model import DigitsCnn


def main():
    p = argparse.ArgumentParser()
    p.add_argument('pull_dir')
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--save')
    p.add_argument('--epochs', type=int, default=4)
    p.add_argument('--lr', type=float, default=5e-4)
    p.add_argument('--replay-ratio', type=float, default=2.0, help='replayed examples per new one')
    p.add_argument('--opset', type=int, default=13)
    a = p.parse_args()

    pulled = json.load(open(os.path.join(a.pull_dir, 'pull.json')))
    load = lambda name: torch.from_numpy(np.load(os.path.join(a.pull_dir, name)))
    x_new, y_new = load('train_x.npy'), load('train_y.npy')
    x_old, y_old = load('replay_x.npy'), load('replay_y.npy')
    x_gold, y_gold = load('golden_x.npy'), load('golden_y.npy')
    torch.manual_seed(0)
    keep = torch.randperm(len(x_old))[: int(len(x_new) * a.replay_ratio)]
    x, y = torch.cat([x_new, x_old[keep]]), torch.cat([y_new, y_old[keep]])

    model = DigitsCnn()
    model.load_state_dict(torch.load(a.checkpoint))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            idx = order[i:i + 32]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(x_gold).argmax(1) == y_gold).float().mean().item()
        print(f'epoch {epoch + 1}: golden accuracy {acc:.4f}', flush=True)

    model.eval()
    names = pulled['onnx']
    torch.onnx.export(
        model, torch.zeros(2, *x_new.shape[1:]), a.out, opset_version=a.opset,
        input_names=[names['input']], output_names=[names['output']],
        dynamic_axes={names['input']: {0: 'batch'}, names['output']: {0: 'batch'}},
    )
    if a.save:
        torch.save(model.state_dict(), a.save)
    print(json.dumps({'onnx': a.out, 'batches': pulled['batches'], 'trained_on': len(x)}))


if __name__ == '__main__':
    main()
