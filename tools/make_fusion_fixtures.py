#!/usr/bin/env python3
"""Reference fixtures for merd's fusion (StreamEngine/Fusion), from a torch model of the paper.

    tools/.venv/bin/python tools/make_fusion_fixtures.py

Writes (generated, do not edit; regenerate with the command above):
  Tests/Fixtures/fusion/forward.safetensors  for each structure (1, 2, 3) and head (plain, jdev):
      the torch model's parameters under `s<structure>.<head>.<state_dict name>`, a batch of
      inputs, its emotion probabilities and valence, the uncertainty-weighted loss for given
      labels and targets, and the loss's gradient for every parameter (autograd; dropout off).
  Tests/Fixtures/fusion/metrics.safetensors  labels and predictions with scikit-learn's
      weighted F1 and MSE.
  Tests/Fixtures/fusion/dataset.safetensors + dataset.csv  a generated dataset (labels a known
      function of HL18…HL20; MR and RF pure noise; valence set by the class), and in the
      metadata the out-of-fold scores a torch re-implementation of merd's recipe reaches on it.
  Tests/Fixtures/fusion/valence.safetensors + valence.csv  (`make_fusion_fixtures.py valence`
      writes only these) 3000 clips whose valence is the posterior-weighted valence of the
      classes, and the torch recipe's scores with the plain and the JDEV head.
  (`make_fusion_fixtures.py datasets` writes the two datasets only.)
"""
import sys
import csv
import json
import pathlib

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file
from sklearn.metrics import f1_score, mean_squared_error

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "fusion"
LABELS = ["neutral", "angry", "happy", "sad", "worried", "surprise"]


class MLP(nn.Module):
    def __init__(self, d_in, hidden, d_out, p):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, d_out), nn.ReLU(), nn.Dropout(p))

    def forward(self, x):
        return self.net(x)


class AFG(nn.Module):
    def __init__(self, inputs, d, hidden, p):
        super().__init__()
        self.names = [n for n, _ in inputs]
        self.align = nn.ModuleDict({n: MLP(size, hidden, d, p) for n, size in inputs})
        self.attention = MLP(len(inputs) * d, hidden, d, p)
        self.score = nn.Linear(d, len(inputs))

    def forward(self, values):
        aligned = [self.align[n](values[n]) for n in self.names]
        scores = torch.softmax(self.score(self.attention(torch.cat(aligned, dim=1))), dim=1)
        return sum(scores[:, i:i + 1] * h for i, h in enumerate(aligned))


class Fusion(nn.Module):
    def __init__(self, inputs, structure, head, d=8, hidden=16, p=0.3, classes=6, valence_branch_dropout=0.0):
        super().__init__()
        self.structure, self.head = structure, head
        # merd's FusionTrainingOptions.valenceBranchDropout: JDEV's feature branch ṽ dropped
        # per clip in training, so the emotion branch carries the class's valence.
        self.branch_dropout = nn.Dropout(valence_branch_dropout)
        audio = [i for i in inputs if i[0].startswith("HL")]
        visual = [i for i in inputs if not i[0].startswith("HL")]
        if structure == 1:
            self.block = AFG(inputs, d, hidden, p)
        elif structure == 2:
            self.pairs = nn.ModuleList([AFG([a] + visual, d, hidden, p) for a in audio])
            self.top = AFG([(f"pair{i}", d) for i in range(len(audio))], d, hidden, p)
        else:
            self.acoustic = AFG(audio, d, hidden, p)
            self.top = AFG([("acoustic", d)] + visual, d, hidden, p)
        self.emotion = nn.Linear(d, classes)
        self.valence = nn.Linear(d, 1)
        if head == "jdev":
            self.valence_from_emotion = nn.Linear(classes, 1)
            self.valence_joint = nn.Linear(2, 1)
        self.rho = nn.Parameter(torch.tensor([0.5413, 0.5413]))

    def forward(self, values):
        if self.structure == 1:
            h = self.block(values)
        elif self.structure == 2:
            h = self.top({f"pair{i}": pair(values) for i, pair in enumerate(self.pairs)})
        else:
            h = self.top({**values, "acoustic": self.acoustic(values)})
        e = torch.softmax(self.emotion(h), dim=1)
        v = self.valence(h)
        if self.head == "jdev":
            v = self.valence_joint(torch.cat([self.branch_dropout(v), torch.tanh(self.valence_from_emotion(e))], dim=1))
        return e, v[:, 0]

    def loss(self, e, v, labels, targets):
        le = -torch.log(e[torch.arange(len(labels)), labels].clamp_min(1e-12)).mean()
        lv = ((v - targets) ** 2).mean()
        d1, d2 = nn.functional.softplus(self.rho)
        return le / d1 ** 2 + lv / (2 * d2 ** 2) + torch.log(1 + d1) + torch.log(1 + d2)


def state(model):
    # torch names ModuleDict/ModuleList children like merd does, except structure 1's block.
    return {k.replace("block.", ""): v.detach().clone() for k, v in model.state_dict().items()}


def forward_fixtures():
    g = torch.Generator().manual_seed(5)
    inputs = [("HL18", 12), ("HL19", 12), ("HL20", 12), ("MR", 10), ("RF", 14)]
    batch = 7
    values = {n: torch.randn(batch, s, generator=g) for n, s in inputs}
    labels = torch.randint(0, 6, (batch,), generator=g)
    targets = torch.randn(batch, generator=g) * 2
    tensors = {f"input.{n}": v for n, v in values.items()}
    tensors["labels"] = labels.float()
    tensors["targets"] = targets
    for structure in (1, 2, 3):
        for head in ("plain", "jdev"):
            torch.manual_seed(structure * 10 + (head == "jdev"))
            model = Fusion(inputs, structure, head).eval()
            with torch.no_grad():
                model.rho.copy_(torch.tensor([0.3, 0.8]))
            e, v = model(values)
            loss = model.loss(e, v, labels, targets)
            loss.backward()
            prefix = f"s{structure}.{head}."
            for name, value in state(model).items():
                tensors[prefix + name] = value
            for name, parameter in model.named_parameters():
                tensors[prefix + "grad." + name.replace("block.", "")] = parameter.grad.detach().clone()
            tensors[prefix + "out.emotion"] = e.detach()
            tensors[prefix + "out.valence"] = v.detach()
            tensors[prefix + "out.loss"] = loss.detach().reshape(1)
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, str(OUT / "forward.safetensors"),
              metadata={"generator": "tools/make_fusion_fixtures.py", "note": "generated, do not edit", "torch": torch.__version__})


def metrics_fixture():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 6, 200)
    p = np.where(rng.random(200) < 0.6, t, rng.integers(0, 5, 200))  # label 5 never predicted by chance alone
    tv = rng.normal(0, 2, 200).astype(np.float32)
    pv = (tv + rng.normal(0, 1, 200)).astype(np.float32)
    save_file({"true": torch.tensor(t).float(), "predicted": torch.tensor(p).float(),
               "true_valence": torch.tensor(tv), "predicted_valence": torch.tensor(pv)},
              str(OUT / "metrics.safetensors"),
              metadata={"f1_weighted": repr(float(f1_score(t, p, average="weighted"))),
                        "mse": repr(float(mean_squared_error(tv, pv))), "note": "generated, do not edit"})


def make_dataset(n=600, seed=11):
    """HL18…HL20 carry the class, weakly (a class direction under noise, so the posterior is often
    unsure: where the valence of a clip is the posterior-weighted valence of the classes, which
    is what JDEV models);
    MR and RF are noise. Valence is the class's valence plus a little noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, n)
    class_valence = np.array([0.0, -3.0, 3.0, -2.5, -1.5, 1.5])
    directions = rng.normal(0, 1, (6, 16))
    features = {}
    for k, name in enumerate(["HL18", "HL19", "HL20"]):
        features[name] = (directions[labels] * (0.25 + 0.05 * k) + rng.normal(0, 1.0, (n, 16))).astype(np.float32)
    for name in ["MR", "RF"]:
        features[name] = rng.normal(0, 1, (n, 16)).astype(np.float32)
    valence = (class_valence[labels] + rng.normal(0, 0.3, n)).astype(np.float32)
    return features, labels, valence


def make_valence_dataset(n=3000, seed=11, dim=16):
    """Valence that depends on the class the way JDEV models it: a clip's valence is
    Σₖ p(k | features) · v_k, the classes' valences weighted by the Bayes posterior of the
    generating model (HL18…HL20 = class direction · s + N(0, I); MR, RF noise), plus a little
    noise. The label is the class drawn. The classes overlap (Bayes accuracy ~0.8), so the
    posterior, not the label, is what valence follows."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, n)
    class_valence = np.array([0.0, -3.0, 3.0, -2.5, -1.5, 1.5])
    directions = rng.normal(0, 1, (6, dim))
    features, log_posterior = {}, np.zeros((n, 6))
    for k, name in enumerate(["HL18", "HL19", "HL20"]):
        s = 0.25 + 0.05 * k
        x = directions[labels] * s + rng.normal(0, 1.0, (n, dim))
        features[name] = x.astype(np.float32)
        log_posterior += s * (x @ directions.T) - s * s * (directions ** 2).sum(1)[None, :] / 2
    for name in ["MR", "RF"]:
        features[name] = rng.normal(0, 1, (n, dim)).astype(np.float32)
    posterior = np.exp(log_posterior - log_posterior.max(1, keepdims=True))
    posterior /= posterior.sum(1, keepdims=True)
    valence = (posterior @ class_valence + rng.normal(0, 0.1, n)).astype(np.float32)
    return features, labels, valence


VALENCE_SCALE = 5.0  # FusionTrainingOptions.valenceScale (JDEV only; the plain head trains on [-5, 5])
VALENCE_BRANCH_DROPOUT = 0.7  # FusionTrainingOptions.valenceBranchDropout


def train_reference(features, labels, valence, structure, head, epochs=30, folds=5, seed=1):
    """merd's recipe in torch: Adam(1e-3, weight decay 1e-5), batch 32, uncertainty loss,
    JDEV's valence trained as valence / 5 with its feature branch dropped per clip (0.7), k folds,
    best epoch by F1 − 0.25·MSE on each fold, out-of-fold scores."""
    n = len(labels)
    order = np.random.default_rng(seed).permutation(n)
    inputs = [(k, v.shape[1]) for k, v in features.items()]
    oof_p, oof_v = np.zeros(n, dtype=int), np.zeros(n, dtype=np.float32)
    for fold in range(folds):
        val = order[fold::folds]
        tr = np.setdiff1d(order, val)
        torch.manual_seed(seed * 100 + fold)
        model = Fusion(inputs, structure, head, d=128, hidden=256, valence_branch_dropout=VALENCE_BRANCH_DROPOUT)
        scale = VALENCE_SCALE if head == "jdev" else 1.0
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
        t = lambda idx: {k: torch.from_numpy(v[idx]) for k, v in features.items()}
        best = None
        for epoch in range(epochs):
            model.train()
            perm = np.random.default_rng(seed + epoch + 7 * fold).permutation(tr)
            for s in range(0, len(perm), 32):
                b = perm[s:s + 32]
                e, v = model(t(b))
                loss = model.loss(e, v, torch.from_numpy(labels[b]), torch.from_numpy(valence[b]) / scale)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                e, v = model(t(val))
                v = v * scale
            p = e.argmax(1).numpy()
            score = f1_score(labels[val], p, average="weighted") - 0.25 * mean_squared_error(valence[val], v.numpy())
            if best is None or score > best[0]:
                best = (score, p, v.numpy())
        oof_p[val], oof_v[val] = best[1], best[2]
    return {"f1": float(f1_score(labels, oof_p, average="weighted")), "accuracy": float((oof_p == labels).mean()),
            "mse": float(mean_squared_error(valence, oof_v))}


def dataset_fixture(name="dataset", make=make_dataset):
    features, labels, valence = make()
    save_file({k: torch.from_numpy(v) for k, v in features.items()}, str(OUT / f"{name}.safetensors"),
              metadata={"note": "generated, do not edit", "generator": "tools/make_fusion_fixtures.py",
                        "torch_structure1_jdev": json.dumps(train_reference(features, labels, valence, 1, "jdev")),
                        "torch_structure1_plain": json.dumps(train_reference(features, labels, valence, 1, "plain"))})
    with open(OUT / f"{name}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "discrete", "valence"])
        for i, (l, v) in enumerate(zip(labels, valence)):
            w.writerow([f"clip{i:04d}", LABELS[l], f"{v:.6f}"])


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    if sys.argv[1:] == ["valence"]:
        dataset_fixture("valence", make_valence_dataset)
    elif sys.argv[1:] == ["datasets"]:
        dataset_fixture()
        dataset_fixture("valence", make_valence_dataset)
    else:
        forward_fixtures()
        metrics_fixture()
        dataset_fixture()
        dataset_fixture("valence", make_valence_dataset)
    print("wrote", OUT)
