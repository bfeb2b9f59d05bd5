"""The report of ref-2's fit (:mod:`collector.judge.fit`): the tables it prints (LOTO candidates, the
selected candidates' figures on training and dev rows, the shortcut checks) and the figures it keeps
for ``--report-json``. Text only: what is fitted and predicted comes from :mod:`collector.judge.fit`."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import numpy as np

import collector.judge.reference as rj
from collector.judge.fit_metrics import L, LI, confusion, fmt_conf, is_cont, metrics, per_class

if TYPE_CHECKING:
    from collector.judge.fit import Sets


def block(title, y, p, s, sets=("hand", "real", "dev")) -> tuple[dict, str]:
    out = {}
    lines = [title, "  %-6s %5s %8s %7s %10s" % ("set", "n", "acc", "kappa", "cont/stop")]
    for name in sets:
        m = s == name
        if not m.any():
            continue
        mt = metrics(y[m], p[m])
        mt["per_class"] = per_class(y[m], p[m])
        mt["confusion"] = confusion(y[m], p[m])
        out[name] = mt
        lines.append("  %-6s %5d %8.3f %7.3f %10.3f" % (name, mt["n"], mt["accuracy"], mt["kappa"],
                                                       mt["continue_stop_accuracy"]))
    return out, "\n".join(lines)


def cand_line(key, ob, mh, mr) -> str:
    return "  %-4s %-9s %-12s %7.4f | %6.3f %6.3f %6.3f | %6.3f %6.3f %6.3f" % (
        *key, ob, mh["accuracy"], mh["kappa"], mh["continue_stop_accuracy"],
        mr["accuracy"], mr["kappa"], mr["continue_stop_accuracy"])


def baseline(sets: Sets) -> tuple[dict[str, float], str]:
    """The always-one-label accuracies on the real training rows, and the line that reports them."""
    real, y_tr = sets.real, sets.y_tr
    base = {lab: round(float(np.mean(y_tr[real] == LI[lab])), 4) for lab in L}
    line = ("baseline on real rows (agreeing, n=%d): always DIVERGENT acc %.3f; always stop cont/stop acc %.3f"
            % (real.sum(), base["DIVERGENT"], float(np.mean(~is_cont(y_tr[real])))))
    return base, line


def cv_header(n_terms: int, real_weight: float) -> list[str]:
    """The title and column heads of the LOTO candidates' table (rows: :func:`cand_line`)."""
    return ["\nLOTO CV (%d training terms), objective = mean(acc, cont/stop acc), real weighted %g:1 against hand"
            % (n_terms, real_weight),
            "  %-4s %-9s %-12s %7s | %6s %6s %6s | %6s %6s %6s" % (
                "enc", "mode", "variant", "obj", "h.acc", "h.kap", "h.cs", "r.acc", "r.kap", "r.cs")]


def selected_figures(mode: str, key: tuple[str, str, str], sets: Sets, pred: np.ndarray, pdv: np.ndarray,
                     fold_params: dict[str, rj.ModeParams]) -> tuple[dict, list[str]]:
    """A mode's selected candidate: its LOTO figures on the training rows (``pred``), the dev set's with
    the final parameters (``pdv``), the spread of the folds' parameters; the report entry and its lines."""
    text = []
    res, txt = block("\n[%s mode] selected %s/%s  LOTO predictions on training terms" % (mode, key[0], key[2]),
                     sets.y_tr, pred, sets.s_tr, ("hand", "real"))
    text.append(txt)
    rdv, txt = block("  dev set (final parameters, scored once)", sets.y_dv, pdv, sets.s_dv, ("dev",))
    text.append(txt)
    for name in ("hand", "real"):
        text.append("  confusion LOTO %s (rows true, columns predicted)\n%s"
                    % (name, fmt_conf(res[name]["confusion"])))
        text.append("  per class LOTO %s: %s" % (name, ", ".join(
            "%s P%.2f R%.2f (n=%d)" % (k, v["precision"], v["recall"], v["support"])
            for k, v in res[name]["per_class"].items())))
    text.append("  confusion dev\n%s" % fmt_conf(rdv["dev"]["confusion"]))
    entry = {"selected": "%s/%s/%s" % key, "loto": res, "dev": rdv["dev"],
             "fold_param_spread": {f.name: [min(getattr(q, f.name) for q in fold_params.values()),
                                            max(getattr(q, f.name) for q in fold_params.values())]
                                   for f in dataclasses.fields(rj.ModeParams)}}
    rounds = np.array([it["round"] for it in sets.tr])
    for rd_name, rm in (("round1", rounds == 1), ("later", rounds > 1)):
        m = sets.real & rm
        entry["loto"]["real_" + rd_name] = metrics(sets.y_tr[m], pred[m])
        text.append("  LOTO real %-7s %s" % (rd_name, metrics(sets.y_tr[m], pred[m])))
    return entry, text


def length_checks(sets: Sets, nw: np.ndarray, pred: np.ndarray) -> tuple[dict, list[str]]:
    """Accuracy on short and long texts (split at the median word count) and the correlation of the word
    count with continue, predicted and true, per training set."""
    sc, text = {}, []
    for name in ("hand", "real"):
        m = sets.s_tr == name
        med = np.median(nw[m])
        for lab, mm in (("short", m & (nw <= med)), ("long", m & (nw > med))):
            sc["%s_%s" % (name, lab)] = metrics(sets.y_tr[mm], pred[mm])
            text.append("  %s %-5s (n_words %s %g): %s" % (name, lab, "<=" if lab == "short" else ">", med,
                                                          sc["%s_%s" % (name, lab)]))
        r = np.corrcoef(nw[m], is_cont(pred[m]).astype(float))[0, 1]
        r0 = np.corrcoef(nw[m], is_cont(sets.y_tr[m]).astype(float))[0, 1]
        sc["%s_corr_nwords_continue" % name] = {"predicted": round(float(r), 3), "true": round(float(r0), 3)}
        text.append("  %s corr(n_words, continue): predicted %.3f, true %.3f" % (name, r, r0))
    return sc, text


def print_report(text: list[str], params: rj.JudgeParams) -> None:
    """The report's lines, then the final parameters of both modes as JSON."""
    print("\n".join(text))
    print("\nfinal parameters:", json.dumps(params.to_dict()["reference"]), json.dumps(params.to_dict()["frame"]),
          sep="\n")
