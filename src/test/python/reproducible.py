"""What makes attn4j's fixture generators write the same bytes on every run and every x86-64 machine.

Measured with Debian's python3-torch 1.13 on one machine: the same seeded script gave float32 fixtures
that differed by up to ~2e-6 (float64: ~4e-15) depending on

* which BLAS library ``libblas.so.3`` resolves to. Debian's torch calls the system's: OpenBLAS (if
  installed; it picks its kernels by CPU, each summing in its own order) or the reference BLAS
  (package ``libblas3``, plain loops). The generators load the reference one.
* which of ATen's vectorized CPU kernels torch picks (AVX2 here, AVX512 or none elsewhere): they
  reduce in different orders. ``ATEN_CPU_CAPABILITY=default`` picks the plain ones on every machine.

Threads are pinned to one as well, and ``np.savez`` zip entries get a fixed timestamp (it stamps the
wall-clock time otherwise). Other architectures (aarch64) round differently and are not covered.

Use: call ``pin_environment()`` before importing torch (it re-executes the script with the pinned
environment when needed), ``check_blas()`` after, and ``savez`` instead of ``np.savez``.
"""

import contextlib
import os
import sys
import time
import zipfile

REFERENCE_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/blas"
PINNED = {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
          "MKL_NUM_THREADS": "1"}
# Exit status when this machine cannot reproduce the fixtures (a test reading it skips, not fails).
CANNOT_REPRODUCE = 3


def pin_environment() -> None:
    """Re-executes the running script with the reference BLAS and the pinned settings, unless already so."""
    library_path = os.environ.get("LD_LIBRARY_PATH", "")
    if all(os.environ.get(k) == v for k, v in PINNED.items()) and library_path.split(":")[0] == REFERENCE_BLAS_DIR:
        return
    if not os.path.exists(os.path.join(REFERENCE_BLAS_DIR, "libblas.so.3")):
        sys.stderr.write(f"{sys.argv[0]}: needs the reference BLAS {REFERENCE_BLAS_DIR}/libblas.so.3 "
                         "(Debian: apt-get install libblas3), not found\n")
        sys.exit(CANNOT_REPRODUCE)
    env = dict(os.environ, **PINNED)
    env["LD_LIBRARY_PATH"] = REFERENCE_BLAS_DIR + (":" + library_path if library_path else "")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def check_blas() -> None:
    """After importing torch: stops unless the process's libblas.so.3 is the reference one."""
    with open("/proc/self/maps", encoding="utf-8") as f:
        blas = sorted({line.split()[-1] for line in f if line.rsplit("/", 1)[-1].startswith("libblas.so")})
    if not blas or not all(b.startswith(REFERENCE_BLAS_DIR + "/") for b in blas):
        sys.stderr.write(f"{sys.argv[0]}: expected torch to use the reference BLAS in {REFERENCE_BLAS_DIR} "
                         f"(Debian's python3-torch with /usr/bin/python3), given {blas or 'no libblas.so loaded'}\n")
        sys.exit(CANNOT_REPRODUCE)


class _ZipEpochClock:
    """Stand-in for the `time` module inside zipfile (see savez)."""

    def __getattr__(self, attr):
        return getattr(time, attr)

    @staticmethod
    def localtime(_secs=None):
        # 1980-01-01 00:00:00, the earliest date a zip entry can hold.
        return time.struct_time((1980, 1, 1, 0, 0, 0, 1, 1, 0))


@contextlib.contextmanager
def fixed_zip_timestamps():
    saved = zipfile.time
    zipfile.time = _ZipEpochClock()
    try:
        yield
    finally:
        zipfile.time = saved


def savez(path, **arrays) -> None:
    """``np.savez`` (uncompressed) with every zip entry stamped 1980-01-01, so equal arrays give equal bytes."""
    import numpy as np
    with fixed_zip_timestamps():
        np.savez(path, **arrays)


def write_case(out_dir, name: str, meta: dict, arrays: dict) -> None:
    """A reference case: ``NAME.json`` (meta, indented) and ``NAME.npz`` (the arrays, through savez)."""
    import json
    with open(os.path.join(out_dir, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    savez(os.path.join(out_dir, f"{name}.npz"), **arrays)


def verify_npz(path, expected: dict) -> None:
    """Reads a written npz back: every entry stored uncompressed, C order, not 0-d, finite, equal to expected."""
    import numpy as np
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist()), path
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == set(expected), path
        for key in data.files:
            a = data[key]
            assert a.flags.c_contiguous and a.shape != (), f"{path}: {key}"
            assert np.all(np.isfinite(a)), f"{path}: {key} is not finite"
            assert np.array_equal(a, expected[key]), f"{path}: {key} differs after reading back"


def out_dir(default: str) -> str:
    """The folder a generator writes to: ``--out DIR`` if given (to compare with the committed files), else default."""
    args = sys.argv[1:]
    if not args:
        return default
    if len(args) == 2 and args[0] == "--out":
        return args[1]
    sys.stderr.write(f"{sys.argv[0]}: expected no arguments or --out DIR, given {' '.join(args)}\n")
    sys.exit(2)
