"""Study (issue 21, not shipped): train a name-label reader: a small CRNN (convolutions, a bidirectional LSTM, CTC) that
reads a gallery tile's label strip whole, in Latin (with accents), Cyrillic and Greek.

The data are rendered (``lines.py``: random names, meeting-app label styles, real fonts,
compressed-video damage); no data set is read. Exports ``model/label_reader.onnx`` and its ``.json``
(alphabet, input height, how it was made); ``check.py`` measures it on real names. Results: README.md.

    python experiments/label_reader/train.py --steps 10000 --samples 80000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from lines import ALPHABET, render_line
from reader import HEIGHT, MAX_WIDTH, MODEL, to_input


class Crnn(nn.Module):
    """(N, 1, 32, W) grey strips -> (W/2, N, classes) log-probabilities (class 0: CTC's blank). Time
    steps are 2 px of the strip: a label's letters are ~6 px wide in a large tile's strip, and CTC
    needs room for a blank between two equal letters."""

    def __init__(self, classes: int, width: int = 16):
        super().__init__()

        def block(cin: int, cout: int, pool: tuple[int, int] | None) -> list[nn.Module]:
            layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            return layers + ([nn.MaxPool2d(pool, pool)] if pool else [])

        c = width
        self.features = nn.Sequential(*block(1, c, (2, 2)), *block(c, 2 * c, (2, 1)), *block(2 * c, 4 * c, None),
                                      *block(4 * c, 4 * c, (2, 1)), *block(4 * c, 6 * c, (2, 1)),
                                      *block(6 * c, 6 * c, (2, 1)))  # height 32 -> 1
        self.rnn = nn.LSTM(6 * c, 128, bidirectional=True, batch_first=False)
        self.head = nn.Linear(256, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x).squeeze(2).permute(2, 0, 1)  # (T, N, C)
        out, _ = self.rnn(features)
        return self.head(out).log_softmax(-1)


def _render(args: tuple[int, int]) -> list[tuple[np.ndarray, str]]:
    seed, count = args
    rng = np.random.default_rng(seed)
    return [(to_input(line.line), line.text) for line in (render_line(rng) for _ in range(count))]


def make_data(count: int, seed: int, workers: int = 2) -> list[tuple[np.ndarray, str]]:
    """``count`` rendered strips (as model inputs) and their texts, made in ``workers`` processes."""
    chunks = [(seed * 1000 + i, 500) for i in range((count + 499) // 500)]
    out: list[tuple[np.ndarray, str]] = []
    with mp.get_context("fork").Pool(workers) as pool:
        for part in tqdm(pool.imap_unordered(_render, chunks), total=len(chunks), desc="rendering", unit="500"):
            out.extend(part)
    return out[:count]


def batches(data: list, size: int, rng: np.random.Generator):
    """Endless batches of similar widths (less padding), shuffled."""
    order = sorted(range(len(data)), key=lambda i: data[i][0].shape[1])
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    while True:
        for g in rng.permutation(len(groups)):
            yield collate([data[i] for i in groups[g]])


def collate(items: list[tuple[np.ndarray, str]]):
    width = max(x.shape[1] for x, _ in items)
    images = np.zeros((len(items), 1, HEIGHT, width), np.float32)
    for i, (x, _) in enumerate(items):
        images[i, 0, :, : x.shape[1]] = x
    index = {c: i + 1 for i, c in enumerate(ALPHABET)}
    targets = [torch.tensor([index[c] for c in text], dtype=torch.long) for _, text in items]
    return torch.from_numpy(images), targets


def greedy(log_probs: torch.Tensor) -> list[str]:
    best = log_probs.argmax(-1).T.tolist()  # (N, T)
    out = []
    for row in best:
        chars, last = [], 0
        for k in row:
            if k != last and k != 0:
                chars.append(ALPHABET[k - 1])
            last = k
        out.append("".join(chars))
    return out


def train(steps: int, samples: int, batch: int, seed: int, out: Path, threads: int) -> dict:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    started = time.time()
    data = make_data(samples, seed)
    check = make_data(1000, seed + 7919)
    model = Crnn(len(ALPHABET) + 1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=2e-3, total_steps=steps, pct_start=0.05)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    stream = batches(data, batch, rng)
    model.train()
    bar = tqdm(range(steps), desc="training", unit="step")
    for step in bar:
        images, targets = next(stream)
        log_probs = model(images)
        lengths = torch.full((len(targets),), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, torch.cat(targets), lengths, torch.tensor([len(t) for t in targets]))
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        schedule.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(check), 64):
            part = check[i:i + 64]
            images, _ = collate(part)
            right += sum(a == b for a, (_, b) in zip(greedy(model(images)), part))
    exact = right / len(check)
    out.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 1, HEIGHT, 200), out / "label_reader.onnx", input_names=["strip"],
                      output_names=["log_probs"], dynamic_axes={"strip": {0: "n", 3: "width"}, "log_probs": {0: "t", 1: "n"}},
                      opset_version=17, dynamo=False)
    meta = {"alphabet": ALPHABET, "height": HEIGHT, "max_width": MAX_WIDTH, "steps": steps, "samples": samples,
            "batch": batch, "seed": seed, "rendered_check_exact": round(exact, 4),
            "params": sum(p.numel() for p in model.parameters()), "minutes": round((time.time() - started) / 60, 1),
            "description": "CRNN (6 conv blocks of 16-96 channels, BiLSTM 128, CTC) trained only on rendered random names "
                           "(experiments/label_reader/lines.py); reads Latin with accents, Cyrillic, Greek"}
    (out / "label_reader.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--samples", type=int, default=60000, help="rendered strips to train on")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=MODEL.parent)
    args = parser.parse_args()
    print(json.dumps(train(args.steps, args.samples, args.batch, args.seed, args.out, args.threads), ensure_ascii=False))


if __name__ == "__main__":
    main()
