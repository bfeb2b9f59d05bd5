"""iris, the lab's ChromaDB vector store: chain embeddings and their spread.

``chains`` builds chain vectors from the judge's embeddings and measures their spread,
``chroma`` is the one module that talks to ChromaDB, ``index`` keeps a session's chains in iris
as its runs are committed.
"""
