"""The probe: the echo loop over a pool of runs (``echo``), its judge on a thread beside the next
round's generation (``overlap``) and seeded batched sampling (``sampling``, ``seeds``). The model under study lives in ``collector.model``. Knows nothing of databases, vector
stores or the screen.
"""
