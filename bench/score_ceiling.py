"""How far the shipped judge's on-meaning score can go on the held-out sets, and whether agreement
across runs adds to it (docs/validity.md, "How far the encoder score can go").

For each held-out set of real rounds (rows where both readers agree) it prints:

* **AUC**: how well ref-3's on-meaning score separates the rounds the readers continue from those
  they stop, with no threshold at all;
* **shipped**: continue/stop kappa and five-class kappa with the shipped thresholds;
* **oracle shift**: the best continue/stop kappa any single shift of both score thresholds reaches,
  the shift chosen **on the set itself** (the surface rules, COLLAPSE and CIRCULAR, kept). It is not a
  figure a judge can have; it bounds what recalibrating the thresholds, for instance per probe model,
  could give with this score;
* **agreement across runs** (after semantic entropy: Farquhar et al., Nature 630, 2024): a model that
  knows a term tends to say the same thing in every sampled run, one that confabulates says something
  different each time. For each round, the mean cosine (multilingual-e5-small, calibrated against the
  generic texts as ref-3's anchors are) with the other runs' rounds of the same term and round. Its
  AUC alone, and the AUC of a logistic over (score, agreement) fitted on the two real training sets
  (their runs are in the ids) and applied to the held-out sets.

    .venv/bin/python bench/score_ceiling.py [--data ../shared/research]

A few seconds on 2 CPU cores with the fit's embedding cache warm (``make fit-judge`` fills it).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.judge_variants import item, read_jsonl, unseen_meanings  # noqa: E402
from collector.judge import fit3, ref3  # noqa: E402
from collector.judge.fit_data import EmbedCache, default_cache_path, load, read_corpus  # noqa: E402
from collector.judge.fit_metrics import LI, is_cont, kappa  # noqa: E402

PARAMS = REPO / "collector/judge/params/ref-3.json"
SHIFTS = np.round(np.arange(-3.0, 3.01, 0.05), 2)


def auc(score: np.ndarray, pos: np.ndarray) -> float:
    """The probability that a positive outscores a negative (ties count half)."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(score[pos], score[~pos]).statistic / (pos.sum() * (~pos).sum()))


def sets(data: str) -> dict[str, list[dict]]:
    """Name -> every row, each with ``chain`` (its run's key), for the two real training sets and the held-out
    sets whose rows name their runs."""
    def keyed(path, key):
        rows = read_jsonl(path)
        for r in rows:
            r["chain"] = key(r)
        return rows

    by_id = lambda r: r["id"].rsplit("-", 1)[0]  # noqa: E731  (session-run-round / term-rRUN-round)
    by_run = lambda r: "%s-%s" % (r["term"], r["run"])  # noqa: E731
    return {"SmolLM2 real (training)": keyed(Path(data) / "echo_real_train.jsonl", by_id),
            "Qwen real (training)": keyed(Path(data) / "echo_real_train_qwen.jsonl", by_id),
            "Qwen, 16 other terms": keyed(REPO / "collector/judge/data/echo_real_more_qwen.jsonl", by_id),
            "Qwen, 12 unseen terms": keyed(REPO / "bench/unseen_qwen.jsonl", by_run),
            "SmolLM2, 12 unseen terms": keyed(REPO / "bench/unseen_smollm2.jsonl", by_run)}


def agreement(rows: list[dict], V: np.ndarray, generic: np.ndarray) -> np.ndarray:
    """Each row's mean cosine with the other runs' rows of its term and round, calibrated by its own
    cosines with the generic texts (0 where no other run has that round). ``V``: the rows' unit
    vectors, ``generic``: the generic texts' unit vectors."""
    G = V @ generic.T
    peers = defaultdict(list)
    for i, r in enumerate(rows):
        peers[r["term"], r["round"]].append(i)
    out = np.zeros(len(rows))
    for i, r in enumerate(rows):
        others = [j for j in peers[r["term"], r["round"]] if rows[j]["chain"] != r["chain"]]
        if others:
            out[i] = ((V[others] @ V[i]).mean() - G[i].mean()) / G[i].std()
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "research"))
    args = ap.parse_args(argv)
    items, terms, _ = load(args.data, ("real", "qwen"))
    train_terms = sorted({it["term"] for it in items if it["set"] in fit3.SOURCES})
    cache = EmbedCache(default_cache_path())
    calibration = fit3.build_calibration(cache, train_terms, terms)
    means = fit3.meanings(terms)
    means.update(unseen_meanings())
    norm = fit3.Features([it for it in items if it["set"] in fit3.SOURCES], means, cache, calibration).source_norm
    p = ref3.Ref3Params.load(str(PARAMS))
    generic = ref3._units(cache.get(read_corpus(), "q"))
    res = {}
    for name, rows in sets(args.data).items():
        agree = agreement(rows, ref3._units(cache.get([r["text"] for r in rows], "q")), generic)
        keep = [i for i, r in enumerate(rows) if r["label"] == r["label_b"]]
        its = [item(rows[i], rows[i]["label"]) for i in keep]
        F = fit3.Features(its, means, cache, calibration, source_norm=norm)
        res[name] = (F, fit3.scores(F, p), np.array([LI[it["label"]] for it in its]), agree[keep])
    cache.save()
    train = [k for k in res if "training" in k]
    X = np.vstack([np.c_[res[k][1], res[k][3]] for k in train])
    c_tr = np.concatenate([is_cont(res[k][2]) for k in train])
    w = np.concatenate([np.full(len(res[k][2]), len(c_tr) / len(res[k][2])) for k in train])
    lg = fit3.fit_logistic(X, c_tr.astype(float), w, ("score", "agreement"))
    print("score + agreement logistic (standardised coefficients): score %.3f, agreement %.3f"
          % (lg.coef[1], lg.coef[2]))
    print("shipped: continue/stop accuracy, continue/stop kappa, kappa (in-sample on the training sets); "
          "oracle: the best shift of both thresholds by continue/stop kappa, and by continue/stop accuracy; "
          "AUC of agreement alone, and of score + agreement")
    print("%-26s %4s %5s | %-17s | %-13s | %-13s | %5s %5s" % ("set", "n", "AUC", "shipped", "oracle c/s k",
                                                             "oracle c/s acc", "agr", "both"))
    for name, (F, sc, y, agree) in res.items():
        c = is_cont(y)

        def at(shift):
            pred = fit3.decide_vec(F.a, sc + shift, p)
            return float(np.mean(c == is_cont(pred))), kappa(c, is_cont(pred)), kappa(y, pred)

        by_kappa = max(SHIFTS, key=lambda d: at(d)[1])
        by_acc = max(SHIFTS, key=lambda d: at(d)[0])
        both = fit3.score_vec(lg, {"score": sc, "agreement": agree})
        print("%-26s %4d %5.3f | %.3f %.3f %.3f | %.3f at %+.2f | %.3f at %+.2f | %5.3f %5.3f"
              % (name, len(y), auc(sc, c), *at(0.0), at(by_kappa)[1], by_kappa, at(by_acc)[0], by_acc,
                 auc(agree, c), auc(both, c)))


if __name__ == "__main__":
    main()
