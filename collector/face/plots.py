"""PNG charts of mart rows (``nyx-collect stats --png`` and ``analyze --png``).

One figure of fixed size, three panels side by side: the mean depth with its 95% interval, the
depth shares 0..3 with their 95% Wilson intervals, and the echo-type transition matrix as a heat
map. Nothing here computes a statistic: every point, bar end and cell is a column of a dbt mart
(``marts.session_stats``, ``term_depth_distribution``, ``echo_type_transitions``). A missing
column or a NULL interval (one run, an older mart) draws the point or bar without its error bar.
Terms and model names are data: every label is made printable (``collector.core.printable``), and every
text artist is plain text (``_plain_text``), so ``$x^{`` or ``$\\macro$`` in a term is drawn as typed.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collector.core.errors import InputError
from collector.core.printable import printable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEPTHS = (0, 1, 2, 3)
ECHO_TYPES = ("EXPANDS", "CONFIRMS", "CIRCULAR", "DIVERGENT", "COLLAPSE")
FIGSIZE = (12.0, 5.0)  # inches; at DPI a PNG of 1200 x 500 pixels
DPI = 100
# the settings a plot's labels name where two rows of one term and model differ in them: the readable
# ones of the settings key (its parts are read.reports.SETTINGS_KEY_PARTS)
SETTINGS_IN_LABELS = ("temperature", "top_p", "top_k", "max_rounds", "max_new_tokens", "prompt_template", "backend",
                      "model_revision")


PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}
"""No mathtext and no TeX for any text artist: a ``$`` in a label is a dollar sign."""


@contextmanager
def _plain_text():
    """Every figure is built and saved inside this: its text artists are plain text (PLAIN_TEXT;
    an artist takes the setting when it is made, and ticks can be made while drawing), and terms
    in scripts the bundled font lacks draw as boxes, without a warning per glyph."""
    import matplotlib

    with matplotlib.rc_context(PLAIN_TEXT), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        yield


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise InputError("--png needs matplotlib: pip install 'nyx-collector[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --- labels ------------------------------------------------------------------------------------

def _cells(text: str) -> int:
    """Columns ``text`` takes: East Asian wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(separator before, piece) pairs of printable ``text``: words, and within a word the pieces after a - or _."""
    out = []
    for i, word in enumerate(" ".join(printable(text).split()).split(" ")):
        for j, piece in enumerate(p for p in re.split(r"(?<=[-_])", word) if p):
            out.append((" " if i and not j else "", piece))
    return out


def wrap_label(text: str, width: int = 16, max_lines: int = 2) -> str:
    """``text`` on lines of at most ``width`` columns, broken at spaces, after - and _, and
    inside a piece longer than a line; past ``max_lines`` lines it ends in an ellipsis."""
    lines: list[str] = []
    line = ""
    for sep, piece in _tokens(text):
        candidate = f"{line}{sep}{piece}" if line else piece
        if _cells(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in piece:
            if _cells(line + ch) > width:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _cells(last) > width - 1:
            last = last[:-1]
        lines = lines[:max_lines - 1] + [last + "…"]
    return "\n".join(lines)


def short_model(name: str) -> str:
    """The last part of a hub id or path: "Qwen/Qwen2.5-7B-Instruct" -> "Qwen2.5-7B-Instruct"."""
    parts = [p for p in re.split(r"[/\\]", str(name)) if p]
    return parts[-1] if parts else str(name)


def _differing(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [p for p in SETTINGS_IN_LABELS if len({str(r.get(p)) for r in rows}) > 1]


def term_labels(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Tick labels of term rows: the term, the model's short name, and the settings that tell two
    rows of one term and model apart (their settings key where no readable part differs)."""
    labels = []
    for row in rows:
        same = [r for r in rows if (r["term"], r.get("model_name")) == (row["term"], row.get("model_name"))]
        label = f"{wrap_label(row['term'])}\n{wrap_label(short_model(row.get('model_name', '')), 16, 2)}"
        if len(same) > 1:
            parts = _differing(same)
            extra = " ".join(f"{p}={row.get(p)}" for p in parts) or str(row.get("settings_key") or "")[:8]
            label += f"\n{wrap_label(extra, 18, 1)}"
        labels.append(label)
    return labels


def session_label(row: dict[str, Any]) -> str:
    return (f"{wrap_label(row['term'])}\n{wrap_label(short_model(row.get('model_name', '')), 16, 2)}"
            f"\n{str(row.get('session_id', ''))[:8]}")


# --- panels ------------------------------------------------------------------------------------

def _value(row: dict[str, Any], column: str) -> float | None:
    value = row.get(column)
    if value is None:
        return None
    return float(value) if isinstance(value, (Decimal, int, float)) else None


def _interval(row: dict[str, Any], low: str, high: str, centre: float) -> tuple[float, float] | None:
    """The mart's interval as error-bar lengths below and above ``centre``; None when it is missing."""
    lo, hi = _value(row, low), _value(row, high)
    if lo is None or hi is None:
        return None
    return max(0.0, centre - lo), max(0.0, hi - centre)


def _one_line(label: str) -> str:
    return re.sub(r"(?<=[-_])\n", "", label).replace("\n", " ")


def _colour(i: int) -> str:
    return f"C{i % 10}"


def _ticks(ax, positions: Sequence[float], labels: Sequence[str]) -> None:
    ax.set_xticks(list(positions))
    ax.set_xticklabels(labels, fontsize=8)


def _overlap(fig, ax) -> bool:
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    return any(a.x1 > b.x0 + 1 for a, b in zip(boxes, boxes[1:]))


def _unoverlap(fig, ax) -> None:
    """Tick labels that would overlap are turned (30°, then 60°, then upright at 7 pt) until none do."""
    for rotation, size in ((30, 8), (60, 7), (90, 7)):
        fig.canvas.draw()
        if not _overlap(fig, ax):
            return
        for t in ax.get_xticklabels():
            t.set_rotation(rotation)
            t.set_fontsize(size)
            t.set_horizontalalignment("center" if rotation == 90 else "right")
            t.set_rotation_mode("anchor" if rotation != 90 else "default")


def draw_means(ax, rows: Sequence[dict[str, Any]], labels: Sequence[str]) -> None:
    """Mean depth of each row, with its 95% interval (depth_ci95_low/high) as an error bar."""
    for i, row in enumerate(rows):
        mean = _value(row, "depth_mean")
        if mean is None:
            continue
        bar = _interval(row, "depth_ci95_low", "depth_ci95_high", mean)
        ax.errorbar([i], [mean], yerr=None if bar is None else [[bar[0]], [bar[1]]], fmt="o", color=_colour(i),
                    ecolor="black", elinewidth=1.5, capsize=5, markersize=7)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylim(0, 3)
    ax.set_yticks(list(DEPTHS))
    ax.set_ylabel("mean depth")
    ax.set_title("Mean depth, 95% CI", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    _ticks(ax, range(len(rows)), labels)


def draw_shares(ax, rows: Sequence[dict[str, Any]], labels: Sequence[str]) -> None:
    """Depth shares 0..3 of each row as bars, their 95% Wilson intervals as error bars."""
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        for d in DEPTHS:
            share = _value(row, f"share_depth_{d}")
            if share is None:
                continue
            x = d + (i - (len(rows) - 1) / 2) * width
            bar = _interval(row, f"share_depth_{d}_ci95_low", f"share_depth_{d}_ci95_high", share)
            ax.bar([x], [share], width, color=_colour(i), label=_one_line(labels[i]) if d == 0 else None)
            if bar is not None:
                ax.errorbar([x], [share], yerr=[[bar[0]], [bar[1]]], fmt="none", ecolor="black", elinewidth=1,
                            capsize=3)
    ax.set_xticks(list(DEPTHS))
    ax.set_xlabel("depth")
    ax.set_ylabel("share of runs")
    ax.set_title("Depth shares, 95% Wilson CI", fontsize=10)
    ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylim(0, 1.05)
    if len(rows) > 1:  # the legend gets a band of its own above 1, so it covers no bar
        ax.set_ylim(0, 1.08 + 0.085 * min(len(rows), 8))
        ax.legend(fontsize=6, loc="upper left", ncol=1, framealpha=0.9)


def transition_rows(groups: Sequence[dict[str, Any]], transitions: Sequence[dict[str, Any]]
                    ) -> list[tuple[int, str, dict[str, float]]]:
    """The heat map's rows: (group index, from type, {to type: probability}) for every from type
    a group's rows of marts.echo_type_transitions have, in ECHO_TYPES order. A transition row
    belongs to a group of the same term, model, settings key and pool (absent on both: None; two
    pools of one settings key differ in their reference meaning)."""
    out = []
    for i, group in enumerate(groups):
        key = (group["term"], group.get("model_name"), group.get("settings_key"), group.get("pool_key"))
        mine = [t for t in transitions
                if (t["term"], t.get("model_name"), t.get("settings_key"), t.get("pool_key")) == key]
        for source in ECHO_TYPES:
            cells = {t["to_echo_type"]: float(t["probability"]) for t in mine
                     if t["from_echo_type"] == source and t["probability"] is not None}
            if cells:
                out.append((i, source, cells))
    return out


def draw_transitions(fig, ax, groups: Sequence[dict[str, Any]], transitions: Sequence[dict[str, Any]],
                     group_labels: Sequence[str], scope: str) -> None:
    """P(to type | from type) as a heat map, each cell annotated, with a colour bar; one block
    of rows (one per from type) per group. A cell without a mart row (never observed) stays blank."""
    import matplotlib
    import numpy as np

    rows = transition_rows(groups, transitions)
    ax.set_title(f"Echo-type transitions ({scope})", fontsize=10)
    if not rows:
        ax.text(0.5, 0.5, "no transitions:\nno run went past round 1", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    matrix = np.full((len(rows), len(ECHO_TYPES)), np.nan)
    for r, (_, _, cells) in enumerate(rows):
        for c, target in enumerate(ECHO_TYPES):
            if target in cells:
                matrix[r, c] = cells[target]
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="#dddddd")  # no mart row: never observed
    image = ax.imshow(matrix, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    size = max(5, min(8, int(120 / len(rows))))
    for r, c in zip(*np.nonzero(~np.isnan(matrix))):
        p = matrix[r, c]
        ax.text(c, r, f"{p:.2f}", ha="center", va="center", fontsize=size, color="white" if p > 0.6 else "black")
    ax.set_xticks(range(len(ECHO_TYPES)))
    ax.set_xticklabels(ECHO_TYPES, fontsize=7, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlabel("to (next round)", fontsize=8)
    several = len({g for g, _, _ in rows}) > 1
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([(wrap_label(group_labels[g].split("\n")[0], 12, 1) + " · " if several else "") + source
                        for g, source, _ in rows], fontsize=size)
    ax.set_ylabel("from", fontsize=8)
    for r in range(1, len(rows)):
        if rows[r][0] != rows[r - 1][0]:
            ax.axhline(r - 0.5, color="black", linewidth=1.5)
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("P(to | from)", fontsize=8)
    bar.ax.tick_params(labelsize=7)


# --- figures -----------------------------------------------------------------------------------

def _figure(rows: Sequence[dict[str, Any]], labels: Sequence[str], transitions: Sequence[dict[str, Any]],
            scope: str, title: str) -> Figure:
    plt = _pyplot()
    with _plain_text():
        fig = plt.figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        means, shares, heat = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1.3, 1.4]})
        means.set_label("means")
        shares.set_label("shares")
        heat.set_label("transitions")
        draw_means(means, rows, labels)
        draw_shares(shares, rows, labels)
        draw_transitions(fig, heat, rows, transitions, labels, scope)
        fig.suptitle(title, fontsize=11)
        _unoverlap(fig, means)
    return fig


def session_figure(stats: dict[str, Any], transitions: Sequence[dict[str, Any]]) -> Figure:
    """The figure of ``stats --png``: one session's row of marts.session_stats; the transitions
    are its term's and model's (and settings key's) rows of marts.echo_type_transitions."""
    title = f"Session {str(stats.get('session_id', ''))[:8]}: {wrap_label(stats['term'], 60, 1)}"
    scope = "term-wide, same settings" if stats.get("settings_key") is not None else "term-wide"
    return _figure([stats], [session_label(stats)], transitions, scope, title)


def terms_figure(distributions: Sequence[dict[str, Any]], transitions: Sequence[dict[str, Any]]) -> Figure:
    """The figure of ``analyze --png``: rows of marts.term_depth_distribution and their rows of
    marts.echo_type_transitions."""
    return _figure(distributions, term_labels(distributions), transitions, "per term",
                   "Depth per term")


def save(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG of exactly FIGSIZE at DPI (no tight bounding box: the size stays)."""
    plt = _pyplot()
    try:
        with _plain_text():
            fig.savefig(path, format="png", dpi=DPI)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


def write_session_png(path: Path, stats: dict[str, Any], transitions: Sequence[dict[str, Any]]) -> None:
    save(session_figure(stats, transitions), path)


def write_terms_png(path: Path, distributions: Sequence[dict[str, Any]],
                    transitions: Sequence[dict[str, Any]]) -> None:
    save(terms_figure(distributions, transitions), path)
