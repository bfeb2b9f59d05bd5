"""Device defaults: which dtype 'auto' picks on a CPU, from its feature flags."""

from collector.probe.lm import _cpu_flags, cpu_has_native_bf16, resolve_dtype


def test_bf16_only_where_the_cpu_has_it():
    assert not cpu_has_native_bf16({"avx2", "fma", "avx512f"})
    assert cpu_has_native_bf16({"avx2", "avx512_bf16"})
    assert cpu_has_native_bf16({"amx_tile", "amx_bf16"})


def test_auto_on_this_cpu_follows_its_flags():
    expected = "bfloat16" if cpu_has_native_bf16(_cpu_flags()) else "float32"
    assert resolve_dtype("auto", "cpu") == expected
    assert resolve_dtype("float32", "cpu") == "float32"
