"""The read side: reports over what was collected, read from the dbt marts (``marts``) and the
session rows, and lookups in the chain store (iris). The write side lives in ``collector.write``."""
