"""Device defaults: which dtype 'auto' picks on a CPU."""

from collector.model.lm import resolve_dtype


def test_auto_is_float32_on_every_cpu():
    """float32 whatever the processor: bfloat16 (1.6x faster where the CPU has native bf16) makes a
    run's text depend on its batch neighbours, so it is an opt-in."""
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype(" AUTO ", "cpu") == "float32"
    assert resolve_dtype("bfloat16", "cpu") == "bfloat16"
    assert resolve_dtype("float32", "cpu") == "float32"
