"""Validation of what a user asks to collect. Every check raises InputError with one line.

Everything here runs before the database or the model is touched, so bad input never leaves a
session row behind.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from collector.core.errors import InputError

MAX_TERM_CHARS = 200
MAX_RUNS = 1_000_000
MAX_NEW_TOKENS = 4096
MAX_BATCH_SIZE = 4096
MAX_TOP_K = 1_000_000
"""Far beyond any vocabulary (a top-k above the vocabulary's size means all tokens)."""
MIN_TEMPERATURE = 0.01
"""The smallest temperature above 0 (greedy). Below it sampling is greedy in all but name, and at
1e-300 the scaled logits overflowed to inf and NaN."""
MAX_TEMPERATURE = 100.0
MAX_CI_HALF_WIDTH = 3.0
"""The widest --until-ci target: depth lies in 0..3, so a half-width of 3 is met by any interval."""
DEFAULT_MIN_RUNS = 100
"""Runs an --until-ci session stores before it may stop: below ~100 runs the sample variance of a
0..3 depth, and so the interval's width, is too noisy to stop on (see README, "Stopping on precision")."""
MAX_LIMIT = 100_000
"""The most rows a listing (``sessions --limit``, ``message read -n``) shows."""
MAX_TERMS_FILE_BYTES = 4 * 1024 * 1024
_REFUSED_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")
_VISIBLE_CLASSES = "LNPS"  # letters, numbers, punctuation, symbols (emoji are symbols)
_EDGES = re.compile(r"^[\s\ufeff\u200b\u2060\u200e\u200f\u180e]+|[\s\ufeff\u200b\u2060\u200e\u200f\u180e]+$")
"""White space and the invisible characters that only ever stray onto a term's ends: a byte-order
mark, the zero-width space, the word joiner, the left-to-right and right-to-left marks."""
DEFAULT_PROMPT_TEMPLATE = 'The word "{term}" means'

def frame_term(template: str, term: str) -> str:
    """The round-1 prompt: ``template`` with ``{term}`` replaced (no other placeholders apply)."""
    return template.replace("{term}", term)


#: The six depth-3 terms of the research, one session each with ``--champions``.
CHAMPIONS = ("Geworfenheit", "Vernunft", "Erkenntnis", "Pflicht", "Aufhebung", "Wille")


@dataclass(frozen=True)
class CollectParams:
    """Validated parameters shared by every session of one ``nyx-collect`` invocation."""

    runs: int
    temperature: float
    top_p: float
    top_k: int | None
    max_rounds: int
    max_new_tokens: int
    seed: int | None
    batch_size: int | None
    prompt_template: str
    until_ci: float | None = None
    """With a value: collect in batches until the mean depth's 95% CI half-width is at most this
    (``runs`` is then the cap); None: exactly ``runs`` runs."""
    min_runs: int | None = None
    """With ``until_ci``: runs stored before the rule may stop."""


def validate_term(raw: str) -> str:
    """Return the term in NFC with surrounding white space removed, or raise InputError.

    The one normalisation of every source of terms: the command line, terms files, glossary
    entries, labelled sets, label imports, ``analyze``, ``power``, ``similar --term``, ``label
    --term`` and the library's entry points all pass through it, so one term is one term whichever
    way it was typed. It is put in Unicode normal form C (composed: ``Gemu\u0308tlichkeit``, u and a
    combining diaeresis, becomes ``Gem\u00fctlichkeit``), and otherwise data: quotes, semicolons
    and any Unicode (emoji sequences with joiners included) are kept verbatim. Removed from both
    ends: white space, a byte-order mark, zero-width spaces, word joiners and direction marks.
    Refused: blank terms, terms without a visible character (only zero-width or combining
    characters), control characters (tabs and newlines inside the term too), line or paragraph
    separators, a byte-order mark inside, lone surrogates (invalid UTF-8), and terms longer than
    MAX_TERM_CHARS.
    """
    if not isinstance(raw, str):
        raise InputError("the term must be text")
    term = _EDGES.sub("", unicodedata.normalize("NFC", raw))
    if not term:
        raise InputError("term is blank")
    bad = next((ch for ch in term if unicodedata.category(ch) in _REFUSED_CATEGORIES), None)
    if bad is not None and unicodedata.category(bad) == "Cs":
        raise InputError(f"term {_show(term)} is not valid UTF-8")
    if bad is not None:
        kind = {"Zl": "line separator", "Zp": "paragraph separator"}.get(unicodedata.category(bad),
                                                                        "control character")
        raise InputError(f"term {_show(term)} contains the {kind} U+{ord(bad):04X}")
    if "\ufeff" in term:
        raise InputError(f"term {_show(term)} contains a byte-order mark (U+FEFF)")
    if not any(unicodedata.category(ch)[0] in _VISIBLE_CLASSES for ch in term):
        raise InputError(f"term {_show(term)} has no visible character")
    if len(term) > MAX_TERM_CHARS:
        raise InputError(f"term is {len(term)} characters long; the limit is {MAX_TERM_CHARS}")
    return term


def _show(term: str, limit: int = 40) -> str:
    shown = term if len(term) <= limit else term[:limit] + "..."
    return ascii(shown) if not shown.isprintable() else repr(shown)


def check_limit(option: str, value: int, maximum: int = MAX_LIMIT) -> int:
    """``value`` if it is between 1 and ``maximum``, else InputError naming ``option``."""
    if not 1 <= value <= maximum:
        raise InputError(f"{option} must be between 1 and {maximum:,}, got {value}")
    return value


def read_terms_file(path: Path) -> list[str]:
    """One term a line; blank lines are skipped. Raises InputError naming the file and line.

    Lines end at LF (CRLF too) only: U+2028, U+0085 and the other separators that
    ``str.splitlines`` would split at stay inside their line, where ``validate_term`` refuses them.
    At most MAX_TERMS_FILE_BYTES are read (``/dev/zero`` is refused, not read forever); a BOM at
    the start is dropped.
    """
    try:
        with path.open("rb") as source:
            data = source.read(MAX_TERMS_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"terms file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"terms file {path} is a directory") from None
    except OSError as exc:
        raise InputError(f"cannot read terms file {path}: {exc.strerror}") from None
    if len(data) > MAX_TERMS_FILE_BYTES:
        raise InputError(f"terms file {path} is larger than {MAX_TERMS_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"terms file {path} is not UTF-8 text (byte {exc.start})") from None
    terms = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            terms.append(validate_term(line))
        except InputError as exc:
            raise InputError(f"{path}, line {number}: {exc}") from None
    if not terms:
        raise InputError(f"terms file {path} holds no terms")
    return terms


def gather_terms(terms: list[str], terms_file: Path | None, champions: bool) -> list[str]:
    """All terms to collect, in order, each once; InputError when there are none or one is bad."""
    gathered = [validate_term(t) for t in terms]
    if terms_file is not None:
        gathered += read_terms_file(terms_file)
    if champions:
        gathered += list(CHAMPIONS)
    if not gathered:
        raise InputError("no term given: pass TERM ..., --terms-file FILE or --champions")
    return list(dict.fromkeys(gathered))


def validate_params(
    *,
    runs: int,
    temperature: float,
    top_p: float,
    top_k: int | None,
    max_rounds: int,
    max_new_tokens: int,
    seed: int | None,
    batch_size: int | None,
    prompt_template: str,
    until_ci: float | None = None,
    min_runs: int | None = None,
) -> CollectParams:
    """Check the numbers and the template; return them as CollectParams."""
    if not 1 <= runs <= MAX_RUNS:
        raise InputError(f"--runs must be between 1 and {MAX_RUNS:,}, got {runs}")
    until_ci, min_runs = check_stopping_rule(until_ci, min_runs, runs)
    if not (temperature == 0 or MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE):  # also refuses NaN
        raise InputError(f"--temperature must be 0 (greedy) or between {MIN_TEMPERATURE} and {MAX_TEMPERATURE:g}, "
                         f"got {temperature}")
    if not 0 < top_p <= 1:
        raise InputError(f"--top-p must be in (0, 1], got {top_p}")
    if top_k is not None and not 0 <= top_k <= MAX_TOP_K:
        raise InputError(f"--top-k must be 0 (all tokens) or between 1 and {MAX_TOP_K:,}, got {top_k}")
    if not 1 <= max_rounds <= 3:
        raise InputError(f"--max-rounds must be 1, 2 or 3, got {max_rounds}")
    if not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise InputError(f"--max-new-tokens must be between 1 and {MAX_NEW_TOKENS}, got {max_new_tokens}")
    if seed is not None and not 0 <= seed < 2**63:
        raise InputError(f"--seed must be between 0 and 2**63-1, got {seed}")
    if batch_size is not None and not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
    if "{term}" not in prompt_template:
        raise InputError("--prompt-template must contain {term}")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in prompt_template):
        raise InputError("--prompt-template contains a control character")
    if any(unicodedata.category(ch) == "Cs" for ch in prompt_template):
        raise InputError("--prompt-template is not valid UTF-8")
    return CollectParams(
        runs=runs,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k or None,
        max_rounds=max_rounds,
        max_new_tokens=max_new_tokens,
        seed=seed,
        batch_size=batch_size,
        prompt_template=prompt_template,
        until_ci=until_ci,
        min_runs=min_runs,
    )


def check_stopping_rule(until_ci: float | None, min_runs: int | None, runs: int) -> tuple[float | None, int | None]:
    """(target, min_runs) of an --until-ci rule, min_runs defaulting to DEFAULT_MIN_RUNS; (None, None)
    without --until-ci. InputError for a target that is not in (0, 3] (NaN included), a --min-runs
    below 2, --min-runs without --until-ci, and a cap (--runs) below --min-runs."""
    if until_ci is None:
        if min_runs is not None:
            raise InputError("--min-runs applies only with --until-ci")
        return None, None
    if not 0 < until_ci <= MAX_CI_HALF_WIDTH:  # also refuses NaN
        raise InputError(f"--until-ci must be a half-width above 0 and at most {MAX_CI_HALF_WIDTH:g}, got {until_ci}")
    min_runs = DEFAULT_MIN_RUNS if min_runs is None else min_runs
    if not 2 <= min_runs <= MAX_RUNS:
        raise InputError(f"--min-runs must be between 2 and {MAX_RUNS:,}, got {min_runs}")
    if runs < min_runs:
        raise InputError(f"--runs {runs} is below --min-runs {min_runs}: with --until-ci, --runs is the most runs "
                         "to collect, so it must be at least --min-runs")
    return float(until_ci), min_runs
