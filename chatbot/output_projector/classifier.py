"""The learned draw classifier (GILL-style): logistic regression on sentence embeddings.

numpy and the embedder are imported inside functions: the app starts without them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DRAW_THRESHOLD, PROJECT_ROOT

DATA_FILE = PROJECT_ROOT / "data" / "draw_requests.jsonl"  # labelled ko/en messages
HELD_OUT_EVERY = 5  # 1 message in 5 (by hash of its text) is held out from training


def load_dataset(path: str | Path = DATA_FILE) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def is_held_out(text: str) -> bool:
    """Deterministic split by a hash of the text: stable when lines are added or reordered."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % HELD_OUT_EVERY == 0


def split_dataset(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    train = [r for r in rows if not is_held_out(r["text"])]
    held = [r for r in rows if is_held_out(r["text"])]
    return train, held


def sigmoid(z):
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(X, y, l2: float = 0.1, iters: int = 50):
    """L2-regularised logistic regression by Newton's method, classes weighted to balance.

    X: (n, d) embeddings, y: (n,) 0/1. Returns (coef (d,), intercept). Exact and
    deterministic; d is a few hundred, so the (d+1)^2 Hessian is cheap.
    """
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])  # (n, d+1): last column = bias
    pos = max(y.sum(), 1.0)
    weights = np.where(y > 0, n / (2 * pos), n / (2 * max(n - pos, 1.0)))
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0  # the intercept is not shrunk
    w = np.zeros(d + 1)
    for _ in range(iters):
        p = sigmoid(Xb @ w)
        grad = Xb.T @ (weights * (p - y)) + reg * w
        hess = (Xb * (weights * p * (1 - p))[:, None]).T @ Xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


@dataclass
class DrawClassifier:
    """p(draw | message) = sigmoid(coef . embed(message) + intercept)."""

    coef: list[float]
    intercept: float
    embedder: str  # model id or path the coefficients were fit on
    profile: str = ""  # embeddings profile, to find the embedder on another machine
    threshold: float = DRAW_THRESHOLD
    meta: dict = field(default_factory=dict)  # training set size, held-out figures

    def _model(self):
        from ..embeddings import load_embedder

        return load_embedder(self.embedder)

    def embed(self, texts: list[str]):
        return self._model().encode(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    def probabilities(self, texts: list[str]):
        import numpy as np

        X = self.embed(texts)  # (n, dim)
        if X.shape[1] != len(self.coef):
            raise ValueError(
                f"the draw classifier was fit on {len(self.coef)}-d embeddings, "
                f"but {self.embedder} gives {X.shape[1]}-d: retrain it "
                "(python -m scripts.train_draw_classifier)"
            )
        return sigmoid(X @ np.asarray(self.coef) + self.intercept)

    def probability(self, text: str) -> float:
        return float(self.probabilities([text])[0])

    @classmethod
    def train(
        cls,
        rows: list[dict],
        embedder: str,
        profile: str = "",
        l2: float = 0.1,
        threshold: float = DRAW_THRESHOLD,
    ) -> "DrawClassifier":
        clf = cls(coef=[], intercept=0.0, embedder=embedder, profile=profile, threshold=threshold)
        X = clf.embed([r["text"] for r in rows])
        coef, intercept = fit_logistic(X, [1.0 if r["draw"] else 0.0 for r in rows], l2=l2)
        clf.coef, clf.intercept = [round(float(c), 6) for c in coef], intercept
        clf.meta = {"train_size": len(rows), "l2": l2, "dim": len(clf.coef)}
        return clf

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = dataclasses.asdict(self)
        if self.profile:  # the path is machine-specific: keep only its name
            data["embedder"] = "/".join(Path(self.embedder).parts[-2:])
        path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path, embedder: str | None = None) -> "DrawClassifier":
        """Weights from a JSON file; `embedder` (from the config) says where the embedder is on
        this machine, as the file keeps only its name."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if embedder is not None:
            data["embedder"] = embedder
        return cls(**data)
