"""How the judge fits (ref-2's :mod:`collector.judge.fit`, ref-3's :mod:`collector.judge.fit3`) score
predictions: the label indices, continue/stop, accuracy, kappa, per-class figures and confusions."""

from __future__ import annotations

import numpy as np

from collector.judge.validation import LABELS

L = list(LABELS)
LI = {k: i for i, k in enumerate(L)}
COLL, CIRC, DIV, CONF, EXP = (LI[k] for k in ("COLLAPSE", "CIRCULAR", "DIVERGENT", "CONFIRMS", "EXPANDS"))


def is_cont(y):
    return (y == EXP) | (y == CONF)


def kappa(y, p) -> float:
    if len(y) == 0:
        return float("nan")
    po = np.mean(y == p)
    pe = sum(np.mean(y == c) * np.mean(p == c) for c in range(len(L)))
    return float((po - pe) / (1 - pe)) if pe < 1 else 1.0


def metrics(y, p) -> dict:
    return {"n": int(len(y)), "accuracy": round(float(np.mean(y == p)), 4), "kappa": round(kappa(y, p), 4),
            "continue_stop_accuracy": round(float(np.mean(is_cont(y) == is_cont(p))), 4)}


def per_class(y, p) -> dict:
    rows = {}
    for c, name in enumerate(L):
        tp = int(np.sum((p == c) & (y == c)))
        rows[name] = {"support": int(np.sum(y == c)),
                      "precision": round(tp / max(1, int(np.sum(p == c))), 3),
                      "recall": round(tp / max(1, int(np.sum(y == c))), 3)}
    return rows


def confusion(y, p) -> list[list[int]]:
    return [[int(np.sum((y == i) & (p == j))) for j in range(len(L))] for i in range(len(L))]


def fmt_conf(cm) -> str:
    w = ["%-10s" % "true\\pred" + "".join("%10s" % n[:9] for n in L)]
    for i, n in enumerate(L):
        w.append("%-10s" % n[:9] + "".join("%10d" % v for v in cm[i]))
    return "\n".join(w)
