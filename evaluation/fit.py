"""Fit the answer models on labelled items (``zhiyi fit eval/dev.jsonl``).

Four logistic models, each with 5-fold cross-validation, written with their operating
thresholds to ``assistant/answer/answerability.json``:

- the passage model: which of the search head's passages holds the answer (label: the
  passage contains the item's evidence), a pairwise ranker over the passage measurements;
  reported as out-of-fold recall@1/@5 beside the search ranking's own;
- the sentence model: which candidate sentence states the answer (label: the sentence holds
  every keyword group of an answerable item), over the candidates' measurements; reported as
  the out-of-fold share of items whose top sentence is a right one;

Then every item is drafted again with the fitted sentence model and the graded checks
switched off, so each draft answer and the signals behind it are seen, and:

- the relevance floor: answerable questions against off-domain prompts, on the retrieval
  signals alone; its threshold keeps false refusals of answerable questions at
  ``floor_false_refusal`` on the out-of-fold predictions;
- answerability: right answers against everything that should not be answered (near-misses,
  off-domain prompts, answers missing the asked fact), on every signal; its threshold
  minimises ``false_answer_cost`` × wrong answers + false refusals out of fold.

The report gives the cross-validated AUC and a reliability table (and plot) for each.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from assistant.answer.candidates import SENTENCE_FEATURES
from assistant.answer.passages import PASSAGE_FEATURES, passage_features
from assistant.answer.confidence import FEATURES, MODEL_FILE, LogisticModel
from assistant.config import Settings
from assistant.pipeline import Assistant
from evaluation.items import EvalItem
from evaluation.metrics import evidence_rank, match_form, missing_groups, score_item

FLOOR_FEATURES = ["best_passage_coverage", "dense_cos", "dense_z", "unknown_share", "coverage", "question_words"]
GRADED_CHECKS = ("relevance_floor", "answerability")


def collect_passages(items: list[EvalItem], settings: Settings, progress=print) -> list[dict]:
    """Per answerable item with evidence, the search head's passage measurements and whether
    each passage holds the evidence (all items, kept for the search-ranking baseline)."""
    assistant = Assistant(settings)
    retriever = assistant.retriever()
    groups = []
    for number, item in enumerate(items, start=1):
        needle = match_form(item.evidence or "")
        if item.expect_refusal or not needle:
            continue
        question = assistant.analyse(item.question, item.history or None, retriever)
        head = retriever.search(question.query, settings.categories, k=settings.rerank_depth)
        features = passage_features(question, head, retriever, settings)
        rows = [
            {"f": [f[name] for name in PASSAGE_FEATURES], "y": int(evidence_rank(item.evidence, [h.chunk.text, retriever.passage_text(h.chunk)]) is not None)}
            for h, f in zip(head, features)
        ]
        groups.append({"id": item.id, "rows": rows})
        if number % 100 == 0:
            progress(f"已收集段落 {number}/{len(items)}")
    return groups


def _recall(groups: list[dict], orders: dict[str, list[int]], k: int) -> float:
    return float(np.mean([any(g["rows"][i]["y"] for i in orders[g["id"]][:k]) for g in groups]))


def fit_passage_model(groups: list[dict]) -> tuple[LogisticModel, dict]:
    """A pairwise ranker of the search head; reported out of fold (by item) as recall@1/@5
    over every item with evidence, beside the search ranking's own recall."""
    trainable = [g for g in groups if any(r["y"] for r in g["rows"]) and not all(r["y"] for r in g["rows"])]
    ids = np.arange(len(groups))
    np.random.default_rng(0).shuffle(ids)
    orders = {}
    for fold in np.array_split(ids, 5):
        held = {groups[i]["id"] for i in fold}
        scaler, model = _fit_ranker([g for g in trainable if g["id"] not in held])
        for i in fold:
            rows = groups[i]["rows"]
            scores = model.decision_function(scaler.transform(np.array([r["f"] for r in rows], dtype=float))) if rows else []
            orders[groups[i]["id"]] = [int(j) for j in np.argsort(-np.asarray(scores))]
    searched = {g["id"]: list(range(len(g["rows"]))) for g in groups}
    stats = {
        "items": len(groups), "trained_on": len(trainable),
        "cv_recall_1": round(_recall(groups, orders, 1), 4), "cv_recall_5": round(_recall(groups, orders, 5), 4),
        "search_recall_1": round(_recall(groups, searched, 1), 4), "search_recall_5": round(_recall(groups, searched, 5), 4),
    }
    return _ranker_model(trainable, PASSAGE_FEATURES, stats), stats


def collect_sentences(items: list[EvalItem], settings: Settings, progress=print, passage_model: LogisticModel | None = None) -> list[dict]:
    """Per answerable item, every candidate sentence's measurements and whether it states the answer."""
    assistant = Assistant(settings)
    # The hand-set sentence blend (the measurements do not depend on it), over the passages
    # the fitted passage model puts forward.
    assistant.models = {"passage": passage_model} if passage_model else {}
    groups = []
    for number, item in enumerate(items, start=1):
        if item.expect_refusal or not item.answer_keywords:
            continue
        draft = assistant.draft(item.question, item.history or None)
        rows = [
            {"f": [c.features.get(f, 0.0) for f in SENTENCE_FEATURES], "y": int(not missing_groups(item.answer_keywords, c.display))}
            for c in draft.candidates
        ]
        if any(r["y"] for r in rows) and not all(r["y"] for r in rows):
            groups.append({"id": item.id, "rows": rows})
        if number % 100 == 0:
            progress(f"已收集候选句 {number}/{len(items)}")
    return groups


def _pairwise(groups: list[dict], scaler) -> tuple[np.ndarray, np.ndarray]:
    """Right-minus-wrong sentence differences within each item (and the reverse): the model
    learns to rank the sentences of one question, which is the decision it makes."""
    xs, ys = [], []
    for g in groups:
        features = scaler.transform(np.array([r["f"] for r in g["rows"]], dtype=float))
        labels = np.array([r["y"] for r in g["rows"]])
        for right in features[labels == 1][:3]:
            for wrong in features[labels == 0][:30]:
                xs += [right - wrong, wrong - right]
                ys += [1, 0]
    return np.array(xs), np.array(ys)


def _fit_ranker(groups: list[dict]):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(np.array([r["f"] for g in groups for r in g["rows"]], dtype=float))
    x, y = _pairwise(groups, scaler)
    return scaler, LogisticRegression(C=1.0, max_iter=3000, fit_intercept=False).fit(x, y)


def _ranker_model(groups: list[dict], features: tuple[str, ...], stats: dict) -> LogisticModel:
    """A pairwise ranker fitted on all `groups`, as model data (a logit to sort by, no threshold)."""
    scaler, model = _fit_ranker(groups)
    return LogisticModel(
        features=list(features), mean=[float(v) for v in scaler.mean_], scale=[float(v) for v in scaler.scale_],
        coef=[round(float(v), 5) for v in model.coef_[0]], intercept=0.0,
        threshold=0.0, meta={"fitted": datetime.now(timezone.utc).strftime("%Y-%m-%d"), **stats},
    )


def fit_sentence_model(groups: list[dict]) -> tuple[LogisticModel, dict]:
    """A pairwise ranker of an item's sentences; reported out of fold (by item) as the share of
    items whose top-scored sentence states the answer, beside the hand-set blend's share."""
    ids = np.arange(len(groups))
    np.random.default_rng(0).shuffle(ids)
    hits = 0
    for fold in np.array_split(ids, 5):
        held = set(fold.tolist())
        scaler, model = _fit_ranker([g for i, g in enumerate(groups) if i not in held])
        for i in fold:
            rows = groups[i]["rows"]
            scores = model.decision_function(scaler.transform(np.array([r["f"] for r in rows], dtype=float)))
            hits += rows[int(np.argmax(scores))]["y"]
    baseline = float(np.mean([g["rows"][0]["y"] for g in groups]))  # candidates come sorted by the blend
    stats = {
        "items": len(groups), "sentences": sum(len(g["rows"]) for g in groups),
        "cv_top1": round(hits / len(groups), 4), "hand_top1": round(baseline, 4),
    }
    return _ranker_model(groups, SENTENCE_FEATURES, stats), stats


def collect(items: list[EvalItem], settings: Settings, progress=print, rankers: dict[str, LogisticModel] | None = None) -> list[dict]:
    """One row per item: its signals and labels, drafted with the fitted rankers."""
    drafting = settings.with_overrides({"checks": [c for c in settings.checks if c not in GRADED_CHECKS]})
    assistant = Assistant(drafting)
    assistant.models = dict(rankers or {})
    rows = []
    for number, item in enumerate(items, start=1):
        answer = assistant.ask(item.question, history=item.history or None)
        result = score_item(item, answer)
        off_domain = item.kind == "off_domain" or item.category == "off_domain"
        row = {"id": item.id, "signals": dict(answer.signals), "refused_by": answer.refused_by}
        row["floor"] = 0 if off_domain else (1 if not item.expect_refusal else None)
        if answer.refused:
            row["answer"] = None  # an exact check refused it: nothing for the model to decide
        elif item.expect_refusal:
            row["answer"] = 0
        else:
            row["answer"] = int(result.keywords_matched)
        rows.append(row)
        if number % 50 == 0:
            progress(f"已收集 {number}/{len(items)}")
    return rows


def _cv_probabilities(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    out = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x[train]), y[train])
        out[test] = model.predict_proba(scaler.transform(x[test]))[:, 1]
    return out


def _fit(x: np.ndarray, y: np.ndarray, features: list[str], threshold: float, meta: dict) -> LogisticModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)
    return LogisticModel(
        features=features, mean=[float(v) for v in scaler.mean_], scale=[float(v) for v in scaler.scale_],
        coef=[round(float(v), 5) for v in model.coef_[0]], intercept=round(float(model.intercept_[0]), 5),
        threshold=round(float(threshold), 4), meta=meta,
    )


def _reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    table = []
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if inside.any():
            table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(inside.sum()), "predicted": round(float(p[inside].mean()), 3), "observed": round(float(y[inside].mean()), 3)})
    return table


def _matrix(rows: list[dict], label: str, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    kept = [r for r in rows if r[label] is not None]
    x = np.array([[r["signals"].get(f, 0.0) for f in features] for r in kept], dtype=float)
    y = np.array([r[label] for r in kept], dtype=int)
    return x, y


def fit_models(rows: list[dict], settings: Settings, item_files: list[str]) -> tuple[dict[str, LogisticModel], dict]:
    from sklearn.metrics import roc_auc_score

    stamp = {"fitted": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "items": item_files}
    models: dict[str, LogisticModel] = {}
    report: dict = {}

    x, y = _matrix(rows, "floor", FLOOR_FEATURES)
    p = _cv_probabilities(x, y)
    # Keep false refusals of answerable questions at the configured share, out of fold.
    threshold = float(np.quantile(p[y == 1], settings.floor_false_refusal))
    stats = {
        "n": int(len(y)), "positives": int(y.sum()), "cv_auc": round(float(roc_auc_score(y, p)), 4),
        "cv_false_refusal": round(float((p[y == 1] < threshold).mean()), 4),
        "cv_off_domain_refused": round(float((p[y == 0] < threshold).mean()), 4),
        "reliability": _reliability(p, y),
    }
    models["floor"] = _fit(x, y, FLOOR_FEATURES, threshold, {**stamp, **stats})
    report["floor"] = (stats, p, y)

    features = list(FEATURES)
    x, y = _matrix(rows, "answer", features)
    p = _cv_probabilities(x, y)
    candidates = np.unique(np.round(p, 3))
    costs = [settings.false_answer_cost * ((p >= t) & (y == 0)).sum() + ((p < t) & (y == 1)).sum() for t in candidates]
    threshold = float(candidates[int(np.argmin(costs))])
    stats = {
        "n": int(len(y)), "positives": int(y.sum()), "cv_auc": round(float(roc_auc_score(y, p)), 4),
        "false_answer_cost": settings.false_answer_cost,
        "cv_false_refusal": round(float((p[y == 1] < threshold).mean()), 4),
        "cv_wrong_answered": round(float((p[y == 0] >= threshold).mean()), 4),
        "reliability": _reliability(p, y),
    }
    models["answerability"] = _fit(x, y, features, threshold, {**stamp, **stats})
    report["answerability"] = (stats, p, y)
    return models, report


def save_models(models: dict[str, LogisticModel], path: Path = MODEL_FILE) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: m.to_dict() for k, m in models.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def reliability_plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(report), figsize=(5 * len(report), 4))
    for ax, (name, (stats, p, y)) in zip(np.atleast_1d(axes), report.items()):
        table = stats["reliability"]
        ax.plot([0, 1], [0, 1], ":", color="#999")
        ax.plot([t["predicted"] for t in table], [t["observed"] for t in table], "o-")
        ax.set_title(f"{name}: CV AUC {stats['cv_auc']:.3f} (n={stats['n']})")
        ax.set_xlabel("predicted probability (out of fold)")
        ax.set_ylabel("observed rate")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
