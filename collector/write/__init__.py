"""The write side: workflows that put rows into the raw schema (collecting, resuming and replaying
sessions, re-judging stored rounds, importing labels) and the sink that streams runs.
The read side, reports over the dbt marts, lives in ``collector.read``.
"""
