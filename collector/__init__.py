"""nyx collector: run the echo probe against a causal LM and stream every run into PostgreSQL."""

__version__ = "0.1.0"
