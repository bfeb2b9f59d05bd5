"""The probe: the model under study and the echo loop over it.

Loading a model (``model_source``, ``lm``), seeded sampling (``sampling``, ``seeds``, the vLLM
backend in ``vllm_backend``) and the echo loop that turns a session's parameters into runs
(``echo``). Knows nothing of databases or vector stores.
"""
