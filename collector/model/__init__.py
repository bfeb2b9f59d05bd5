"""The model under study: finding it (``source``: hub id, directory, GGUF conversion, cache), loading
it with its device, dtype and calibrated embeddings (``lm``), and the vLLM backend for GPU servers
(``vllm_backend``). Knows nothing of databases, vector stores or the screen.
"""
