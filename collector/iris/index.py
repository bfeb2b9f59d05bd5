"""The chain index: one session's chains in iris, kept in step with what PostgreSQL committed.

The run sink tells the index about runs only after they are committed, so ChromaDB never holds a
chain that PostgreSQL does not. The index embeds them (with the vectors the judge computed
anyway), upserts them into the model's collection and keeps the vectors for the session's
semantic spread. A resumed session's spread needs the earlier runs too; they are read back from
iris at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.iris.chains import Spread, chain_texts, embed_chains, spread
from collector.core.params import frame_term
from collector.core.records import RunRecord, SessionRecord

if TYPE_CHECKING:
    import torch

    from collector.iris.chroma import Iris
    from collector.model.lm import LanguageModel


class ChainIndex:
    """Upserts a session's committed chains into iris and measures their spread."""

    def __init__(self, iris: Iris, lm: LanguageModel, session: SessionRecord, resumed: bool = False):
        self.iris = iris
        self.lm = lm
        self.session = session
        self.anchor = frame_term(session.prompt_template, session.term)
        self.resumed = resumed
        self.vectors: list[torch.Tensor] = []

    def committed(self, runs: list[RunRecord]) -> None:
        """Store the chain embeddings of runs PostgreSQL has just committed."""
        if not runs:
            return
        vectors = embed_chains(self.lm, [chain_texts(self.anchor, r.chain) for r in runs])
        self.iris.upsert_chains(self.lm.name, runs, vectors)
        self.vectors.append(vectors)

    def spread(self) -> Spread | None:
        """The spread of every chain of the session (None when none was embedded)."""
        import torch

        if self.resumed:
            ids = [f"{self.session.session_id}:{n}" for n in range(1, self.session.runs_requested + 1)]
            found = self.iris.get(self.session.model_name, ids)["embeddings"]
            vectors = torch.tensor(found, dtype=torch.float32) if len(found) else None
        else:
            vectors = torch.cat(self.vectors) if self.vectors else None
        if vectors is None or not len(vectors):
            return None
        return spread(vectors)
