"""Looking up stored chains by meaning: the nearest ones in a model's embedding space (iris)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.core.errors import InputError
from collector.core.params import validate_term

if TYPE_CHECKING:
    from collector.iris.chroma import ChainHit

__all__ = ["similar_chains"]


def similar_chains(text: str, *, k: int = 10, term: str | None = None, model: str | None = None,
                   iris: str | None = None) -> list[ChainHit]:
    """The ``k`` stored chains nearest to ``text`` in ``model``'s embedding space (iris)."""
    from collector.iris.chains import embed_chains
    from collector.iris.chroma import Iris
    from collector.model.lm import LanguageModel

    if not text.strip():
        raise InputError("the text to look up is blank")
    if not 1 <= k <= 1000:
        raise InputError(f"-k must be between 1 and 1000, got {k}")
    term = validate_term(term) if term is not None else None
    chains = Iris.open(iris)
    lm = LanguageModel.load(model)
    return chains.similar(lm.name, embed_chains(lm, [[text]])[0], k=k, term=term)

