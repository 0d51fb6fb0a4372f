"""
Closes edgeloop's loop in PyTorch: reads what `edgeloop-trainer pull` wrote (new corrections, a replay sample of the
old data, the golden set, labels), fine-tunes the team's checkpoint on new + replayed examples, and exports the
candidate to ONNX with the names, layout and output kind the app already uses (from pull.json), for
`edgeloop-trainer publish` to gate and publish.

usage: finetune.py PULL_DIR --checkpoint model.pt --out candidate.onnx [--save model-next.pt] [--epochs 6] [--lr 1e-3]
                   [--replay-ratio 3] [--alpha 1] [--golden-tolerance 0.005] [--recall-tolerance 0.05]
"""
import argparse
import json
import os

import numpy as np
import torch
from torch import nn

from model import DigitsCnn


# The mixes tried, most of the fine-tune first; steps of 0.1 where the golden checks usually start to pass.
ALPHAS = [1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25]


def golden_scores(model, state, x, y, classes):
    """Golden accuracy and per-class recall of `model` (with `state` loaded first, when given)."""
    if state is not None:
        keep = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    if state is not None:
        model.load_state_dict(keep)
    recall = [((pred == c) & (y == c)).sum().item() / max(1, (y == c).sum().item()) for c in range(classes)]
    return (pred == y).float().mean().item(), recall


def main():
    p = argparse.ArgumentParser()
    p.add_argument('pull_dir')
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--save')
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--replay-ratio', type=float, default=3.0, help='replayed examples per new one')
    p.add_argument('--alpha', type=float, default=1.0, help='WiSE-FT: the largest weight of the fine-tuned model against the checkpoint')
    p.add_argument('--golden-tolerance', type=float, default=0.005, help="as edgeloop's gate: golden accuracy may drop this much")
    p.add_argument('--recall-tolerance', type=float, default=0.05, help="as edgeloop's gate: a class's golden recall may drop this much")
    p.add_argument('--opset', type=int, default=13)
    a = p.parse_args()

    pulled = json.load(open(os.path.join(a.pull_dir, 'pull.json')))
    load = lambda name: torch.from_numpy(np.load(os.path.join(a.pull_dir, name)))
    x_new, y_new = load('train_x.npy'), load('train_y.npy')
    x_old, y_old = load('replay_x.npy'), load('replay_y.npy')
    x_gold, y_gold = load('golden_x.npy'), load('golden_y.npy')
    torch.manual_seed(0)
    # Replay balanced over classes, as edgeloop's own trainer samples it: a class the corrections crowd out keeps as
    # many old examples as any other, so its recall is not the one fine-tuning sacrifices.
    want = int(len(x_new) * a.replay_ratio)
    per_class = [torch.nonzero(y_old == k).flatten() for k in range(len(pulled['labels']))]
    per = -(-want // max(1, sum(len(i) > 0 for i in per_class)))
    keep = torch.cat([i[torch.randperm(len(i))[:per]] for i in per_class])
    keep = keep[torch.randperm(len(keep))][:want]
    x, y = torch.cat([x_new, x_old[keep]]), torch.cat([y_new, y_old[keep]])

    model = DigitsCnn()
    start = torch.load(a.checkpoint)
    model.load_state_dict(start)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    for epoch in range(a.epochs):
        model.train()
        # BatchNorm keeps the old data's statistics: a few hundred corrections would otherwise shift them for every input.
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
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

    # WiSE-FT: mixing the fine-tuned weights with the checkpoint's keeps most of the gain on the corrections and
    # little of what fine-tuning on a few hundred of them costs elsewhere (what edgeloop's own trainer does too).
    # The largest mix that keeps the golden checks edgeloop's gate will make is the candidate (the gate also checks
    # the held-out corrections, which pull never hands out).
    tuned = {k: v.clone() for k, v in model.state_dict().items()}
    base = golden_scores(model, start, x_gold, y_gold, len(pulled['labels']))
    for alpha in [x for x in ALPHAS if x <= a.alpha]:
        model.load_state_dict({k: (alpha * v + (1 - alpha) * start[k]) if v.is_floating_point() else v for k, v in tuned.items()})
        acc, recall = golden_scores(model, None, x_gold, y_gold, len(pulled['labels']))
        worst = min(r - b for r, b in zip(recall, base[1]))
        print(f'alpha {alpha}: golden accuracy {acc:.4f} (checkpoint {base[0]:.4f}), worst class recall change {worst * 100:+.1f} points', flush=True)
        if acc >= base[0] - a.golden_tolerance and worst >= -a.recall_tolerance:
            break
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
