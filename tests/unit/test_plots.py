"""The PNGs of ``stats --png`` / ``analyze --png`` (collector.face.plots), from mart rows built as dicts."""

from __future__ import annotations

import sys

import pytest

from collector.core.errors import InputError
from collector.face import plots

matplotlib_image = pytest.importorskip("matplotlib.image")

PNG = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = int(plots.FIGSIZE[0] * plots.DPI), int(plots.FIGSIZE[1] * plots.DPI)


def _row(term: str, model: str, shares, mean, ci=None, share_ci=None, **extra) -> dict:
    row = {"term": term, "model_name": model, "depth_mean": mean, **extra}
    for d, share in enumerate(shares):
        row[f"share_depth_{d}"] = share
        if share_ci is not None:
            row[f"share_depth_{d}_ci95_low"], row[f"share_depth_{d}_ci95_high"] = share - share_ci, share + share_ci
    if ci is not None:
        row["depth_ci95_low"], row["depth_ci95_high"] = ci
    return row


def _transitions(term: str, model: str, source: str, probabilities, **extra) -> list[dict]:
    return [{"term": term, "model_name": model, "from_echo_type": source, "to_echo_type": target,
             "probability": p, **extra} for target, p in zip(plots.ECHO_TYPES, probabilities) if p is not None]


ROWS = [
    _row("Aufhebung", "Qwen/Qwen2.5-7B-Instruct", [0.2, 0.4, 0.3, 0.1], 1.3, (1.1, 1.55), 0.06),
    # one run: no intervals in the mart, neither of the mean nor of the shares
    _row("Die transzendentale Einheit der Apperzeption", "/models/tiny", [0.5, 0.3, 0.1, 0.1], 0.7),
    _row("道可道非常道", "HuggingFaceTB/SmolLM2-135M-Instruct", [0.1, 0.2, 0.2, 0.5], 2.1, (1.9, 2.4), 0.05),
]
TRANSITIONS = (_transitions("Aufhebung", "Qwen/Qwen2.5-7B-Instruct", "EXPANDS", [0.9, 0.04, 0.06, None, None])
               + _transitions("Aufhebung", "Qwen/Qwen2.5-7B-Instruct", "CONFIRMS", [0.5, 0.5, None, None, None])
               + _transitions("道可道非常道", "HuggingFaceTB/SmolLM2-135M-Instruct", "EXPANDS",
                              [0.3, 0.3, 0.2, 0.1, 0.1]))


def _pixels(path):
    return matplotlib_image.imread(str(path))  # HEIGHT x WIDTH x 4, floats 0..1


def _axes(fig, label: str):
    return next(ax for ax in fig.axes if ax.get_label() == label)


def _at(image, ax, x: float, y: float, radius: int = 0) -> float:
    """The darkest luminance within ``radius`` pixels of data point (x, y) of ``ax``."""
    px, py = ax.transData.transform((x, y))
    col, row = int(round(px)), int(round(HEIGHT - py))
    patch = image[row - radius:row + radius + 1, col - radius:col + radius + 1, :3]
    return float(patch.mean(axis=2).min())


def test_terms_png_is_written_at_its_fixed_size(tmp_path):
    path = tmp_path / "terms.png"
    plots.write_terms_png(path, ROWS, TRANSITIONS)
    assert path.read_bytes()[:8] == PNG
    assert _pixels(path).shape == (HEIGHT, WIDTH, 4) == (500, 1200, 4)


def test_heat_map_cell_of_the_highest_probability_is_darker_than_the_lowest(tmp_path):
    path = tmp_path / "terms.png"
    fig = plots.terms_figure(ROWS, TRANSITIONS)
    plots.save(fig, path)
    image, heat = _pixels(path), _axes(fig, "transitions")
    # rows: Aufhebung EXPANDS, Aufhebung CONFIRMS, 道可道非常道 EXPANDS; a corner of each cell, off its annotation
    highest = _at(image, heat, 0 + 0.35, 0 + 0.35)  # 0.90
    lowest = _at(image, heat, 1 + 0.35, 0 + 0.35)  # 0.04
    never = _at(image, heat, 3 + 0.35, 0 + 0.35)  # no mart row: grey, not the colour of a low probability
    assert highest < 0.5 < 0.85 < lowest
    assert abs(never - 0.867) < 0.02  # #dddddd


def test_error_bars_are_drawn_where_the_mart_has_an_interval_and_only_there(tmp_path):
    path = tmp_path / "terms.png"
    fig = plots.terms_figure(ROWS, TRANSITIONS)
    plots.save(fig, path)
    image, means, shares = _pixels(path), _axes(fig, "means"), _axes(fig, "shares")
    # mean depth: Aufhebung 1.3 in [1.1, 1.55]; the one-run term 0.7 without an interval
    assert _at(image, means, 0, 1.48, radius=2) < 0.3
    assert _at(image, means, 1, 0.7 + 0.18, radius=2) > 0.95
    # depth share 1 of Aufhebung, 0.4 ± 0.06: the bar's whisker shows above the bar's top
    width = 0.8 / len(ROWS)
    assert _at(image, shares, 1 - width, 0.45, radius=2) < 0.3
    assert _at(image, shares, 1, 0.3 + 0.04, radius=2) > 0.95  # the one-run term's share 0.3: no whisker


def test_session_png_with_one_run_and_no_transitions(tmp_path):
    path = tmp_path / "session.png"
    row = _row("Wille", "tiny", [1.0, 0.0, 0.0, 0.0], 0.0, session_id="0b7c3f5e-1111-4000-8000-000000000000",
               depth_ci95_low=None, depth_ci95_high=None)
    plots.write_session_png(path, row, [])
    assert path.read_bytes()[:8] == PNG and _pixels(path).shape == (HEIGHT, WIDTH, 4)


def test_transitions_belong_to_the_rows_term_model_and_settings_key():
    a = _row("T", "m", [1, 0, 0, 0], 0.0, settings_key="k1")
    b = _row("T", "m", [1, 0, 0, 0], 0.0, settings_key="k2")
    transitions = (_transitions("T", "m", "EXPANDS", [1.0, None, None, None, None], settings_key="k1")
                   + _transitions("T", "m", "CONFIRMS", [None, None, 1.0, None, None], settings_key="k2")
                   + _transitions("T", "other", "EXPANDS", [0.5, 0.5, None, None, None], settings_key="k1"))
    assert plots.transition_rows([a, b], transitions) == [(0, "EXPANDS", {"EXPANDS": 1.0}),
                                                          (1, "CONFIRMS", {"CIRCULAR": 1.0})]


def test_labels_of_long_model_names_and_terms():
    assert plots.short_model("Qwen/Qwen2.5-7B-Instruct") == "Qwen2.5-7B-Instruct"
    assert plots.short_model("/srv/models/tiny/") == "tiny"
    assert plots.wrap_label("Qwen2.5-7B-Instruct", 16) == "Qwen2.5-7B-\nInstruct"
    long = plots.wrap_label("Die transzendentale Einheit der Apperzeption", 16, 2)
    assert long.endswith("…") and long.count("\n") == 1 and all(len(line) <= 16 for line in long.split("\n"))
    assert plots.wrap_label("道可道非常道名可名非常名", 8, 2) == "道可道非\n常道名…"  # wide characters take two columns
    a = _row("T", "m", [1, 0, 0, 0], 0.0, temperature=0.8, top_p=0.95, settings_key="k1")
    b = _row("T", "m", [1, 0, 0, 0], 0.0, temperature=1.2, top_p=0.95, settings_key="k2")
    assert [label.split("\n")[-1] for label in plots.term_labels([a, b])] == ["temperature=0.8", "temperature=1.2"]


def test_tick_labels_never_overlap(tmp_path):
    rows = [_row(f"Begriff Nummer {i} mit einem langen Namen", f"org/Model-{i}-70B-Instruct-v2", [0.25] * 4, 1.5)
            for i in range(6)]
    fig = plots.terms_figure(rows, [])
    plots.save(fig, tmp_path / "many.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()  # save closed the figure's own canvas
    boxes = sorted((t.get_window_extent(renderer) for t in _axes(fig, "means").get_xticklabels()),
                   key=lambda b: b.x0)
    assert len(boxes) == 6 and all(a.x1 <= b.x0 + 1 for a, b in zip(boxes, boxes[1:]))


def test_without_matplotlib_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    with pytest.raises(InputError, match=r"^--png needs matplotlib: pip install 'nyx-collector\[plot\]'$"):
        plots.write_terms_png(tmp_path / "x.png", ROWS, TRANSITIONS)
    assert not (tmp_path / "x.png").exists()


def test_unwritable_file_is_a_one_line_input_error(tmp_path):
    with pytest.raises(InputError, match=r"^cannot write .*no-such-dir/x\.png: No such file or directory$"):
        plots.write_terms_png(tmp_path / "no-such-dir" / "x.png", ROWS, TRANSITIONS)


# terms and model names that mathtext would parse ($...$, an unknown macro, an unclosed brace) and
# that hold an escape sequence: drawn as typed, the escape shown as \x1b
MATH_TERMS = ["price $x^{ and $", "$\\undefinedmacro{x}$", "$a$_$b^$", "100$ [/] $\\frac{1"]
MATH_MODEL = "/models/ti\x1b[31m$x^{$ny"


def test_labels_with_mathtext_draw_as_plain_text(tmp_path):
    rows = [_row(term, MATH_MODEL, [0.25] * 4, 1.5, (1.2, 1.8), 0.05) for term in MATH_TERMS]
    transitions = [t for term in MATH_TERMS for t in _transitions(term, MATH_MODEL, "EXPANDS", [0.5, 0.5, 0, 0, 0])]
    plots.write_terms_png(tmp_path / "terms.png", rows, transitions)
    plots.write_session_png(tmp_path / "session.png", {**rows[1], "session_id": "3f2a0000-0000"}, transitions)
    for name in ("terms.png", "session.png"):
        assert _pixels(tmp_path / name).shape == (HEIGHT, WIDTH, 4)
    fig = plots.terms_figure(rows, transitions)
    texts = [t for t in fig.findobj(lambda artist: hasattr(artist, "get_parse_math"))]
    assert texts and not any(t.get_parse_math() for t in texts)
    ticks = [t.get_text() for t in _axes(fig, "means").get_xticklabels()]
    assert ticks == plots.term_labels(rows) and ticks[1].startswith("$\\undefinedmacro")
    assert all("\x1b" not in t and "\\x1b[31m$x^{" in t for t in ticks)
