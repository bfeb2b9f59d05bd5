"""The tables fit3 prints and stores: agreement with the readers per source (all rounds, round 1,
later rounds), and the Qwen rows split into the shared set and the project's own labels."""

from __future__ import annotations

import numpy as np

from collector.judge.fit_metrics import confusion, fmt_conf, is_cont, kappa, per_class

SOURCES = ("hand", "real", "qwen")
SOURCE_NAMES = {"hand": "hand-written", "real": "SmolLM2-135M real", "qwen": "Qwen2.5-Coder-1.5B real",
                "dev": "development set"}


def metrics(y, p) -> dict:
    yc, pc = is_cont(y), is_cont(p)
    return {"n": int(len(y)), "accuracy": round(float(np.mean(y == p)), 4), "kappa": round(kappa(y, p), 4),
            "continue_stop_accuracy": round(float(np.mean(yc == pc)), 4),
            "continue_stop_kappa": round(_kappa2(yc, pc), 4)}


def _kappa2(a, b) -> float:
    po = np.mean(a == b)
    pe = np.mean(a) * np.mean(b) + np.mean(~a) * np.mean(~b)
    return float((po - pe) / (1 - pe)) if pe < 1 else 1.0


def table(title, y, p, s, r, sets) -> tuple[dict, list[str]]:
    out, lines = {}, [title, "  %-26s %5s %7s %7s %9s %9s" % ("set", "n", "acc", "kappa", "c/s acc", "c/s kap")]
    for name in sets:
        for part, m in (("", s == name), (" round 1", (s == name) & (r == 1)), (" later", (s == name) & (r > 1))):
            if not m.any() or (part and name in ("hand", "dev")):
                continue
            mt = metrics(y[m], p[m])
            key = name + part.replace(" ", "_")
            if not part:
                mt["per_class"] = per_class(y[m], p[m])
                mt["confusion"] = confusion(y[m], p[m])
            out[key] = mt
            lines.append("  %-26s %5d %7.3f %7.3f %9.3f %9.3f" % (SOURCE_NAMES[name] + part, mt["n"], mt["accuracy"],
                                                                   mt["kappa"], mt["continue_stop_accuracy"],
                                                                   mt["continue_stop_kappa"]))
    return out, lines


def own_label_lines(res: dict, tr: list[dict], y, s, pred) -> list[str]:
    """The Qwen rows split into the shared set and the project's own labels (added to ``res``), when
    there are own labels; and each source's confusion."""
    text = []
    own = np.array([it["id"].startswith("qwen-") for it in tr])  # the project's own labelled Qwen rounds
    if own.any():
        for part, m in (("qwen_shared", (s == "qwen") & ~own), ("qwen_own", (s == "qwen") & own)):
            res[part] = metrics(y[m], pred[m])
            text.append("  %-26s %5d %7.3f %7.3f %9.3f %9.3f" % (
                {"qwen_shared": "  of which the shared set", "qwen_own": "  of which our own labels"}[part],
                res[part]["n"], res[part]["accuracy"], res[part]["kappa"], res[part]["continue_stop_accuracy"],
                res[part]["continue_stop_kappa"]))
    for name in SOURCES:
        m = s == name
        text.append("  confusion %s (rows readers, columns judge)\n%s" % (SOURCE_NAMES[name], fmt_conf(confusion(y[m], pred[m]))))
    return text
