"""The face: the ``nyx-collect`` command line (``cli``), its progress display (``progress``) and
the reports it prints (``report``). It parses, calls one function of the write side
(``collector.write``), the read side (``collector.read``) or the database layer, and prints; the
workflows themselves live there.
"""
