"""The face: the ``nyx-collect`` command line (``cli``), its progress display (``progress``) and
the reports it prints (``report``). It parses, calls one function of ``collector.runner`` or the
database layer, and prints; the workflow itself lives in the runner.
"""
