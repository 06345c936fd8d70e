"""npz files written by numpy itself, for attn4j's own npy/npz reader (org.attn4j.io.Npz).

What it writes (src/test/resources/npz/, relative to the repository root)
-------------------------------------------------------------------------
``supported.npz``
    One entry per dtype the reader supports, as ``np.savez`` writes it by default: float16/32/64,
    int8/16/32/64, uint8 and bool; plus 0-d entries (numpy scalars, shape ``()``), an empty array,
    a Fortran-order array, big-endian arrays and a rank-3 array.
``supported.json``
    For each entry of supported.npz: numpy's dtype string, the shape, and the values flattened in C
    order, so the Java test checks the reader against numpy's own view, not against itself.
``unsupported_<what>.npz``
    One entry each of a dtype the reader refuses (uint16, uint32, complex64, a string, a structured
    dtype); the test expects a message naming the entry and the dtype.
``compressed.npz``
    ``np.savez_compressed`` output, which the reader refuses with a message saying to use np.savez.

Seeded, and zip entry timestamps are pinned (as in gen_parity_fixtures.py), so a rerun writes the
same bytes. Rerun from the repository root: python3 src/test/python/gen_npz_fixtures.py
"""
import json
import pathlib
import zipfile

import numpy as np

import reproducible

OUT_DIR = pathlib.Path(reproducible.out_dir(str(pathlib.Path(__file__).resolve().parent.parent / "resources" / "npz")))


def supported(rng):
    a = {
        "f16": rng.standard_normal((2, 3)).astype(np.float16),
        "f32": rng.standard_normal((3, 2)).astype(np.float32),
        "f64": rng.standard_normal((4,)),
        "i8": rng.integers(-128, 128, (2, 2), dtype=np.int8),
        "i16": rng.integers(-32768, 32768, (3,), dtype=np.int16),
        "i32": rng.integers(-2**31, 2**31, (2, 2), dtype=np.int32),
        "i64": rng.integers(-2**62, 2**62, (3,), dtype=np.int64),
        "u8": rng.integers(0, 256, (5,), dtype=np.uint8),
        "bool": rng.random((2, 3)) < 0.5,
        "scalar_f64": np.float64(2.5),  # 0-d: a step count, a loss
        "scalar_i64": np.int64(-7),
        "scalar_bool": np.bool_(True),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((2, 3, 4)).astype(np.float32)),
        "big_endian_f32": rng.standard_normal((2, 2)).astype(">f4"),
        "big_endian_i64": rng.integers(-1000, 1000, (3,)).astype(">i8"),
        "rank3": rng.standard_normal((2, 1, 3)).astype(np.float32),
    }
    assert a["fortran"].flags.f_contiguous and not a["fortran"].flags.c_contiguous
    return a


def describe(arrays):
    out = {}
    for name, v in arrays.items():
        v = np.asarray(v)
        values = v.ravel(order="C")
        out[name] = {
            "dtype": v.dtype.str,
            "shape": list(v.shape),
            # JSON numbers: bools as 0/1; int64 as strings so no value is rounded through a double
            "values": [str(int(x)) for x in values] if v.dtype.kind == "i" and v.dtype.itemsize == 8
            else [float(x) for x in values],
        }
    return out


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(22)
    arrays = supported(rng)
    unsupported = {
        "uint16": np.arange(3, dtype=np.uint16),
        "uint32": np.arange(3, dtype=np.uint32),
        "complex64": np.array([1 + 2j], dtype=np.complex64),
        "string": np.array(["abc", "de"]),
        "structured": np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]),
    }
    with reproducible.fixed_zip_timestamps():
        np.savez(OUT_DIR / "supported.npz", **arrays)
        for name, v in unsupported.items():
            np.savez(OUT_DIR / f"unsupported_{name}.npz", **{name: v})
        np.savez_compressed(OUT_DIR / "compressed.npz", x=np.arange(4, dtype=np.float32))
    with open(OUT_DIR / "supported.json", "w", encoding="utf-8") as f:
        json.dump({"numpy": np.__version__, "entries": describe(arrays)}, f, indent=1)
        f.write("\n")
    # Read back with numpy: what the Java test compares against is what numpy itself reads.
    with np.load(OUT_DIR / "supported.npz") as z:
        for name, v in arrays.items():
            assert z[name].dtype == np.asarray(v).dtype and np.array_equal(z[name], v), name
    with zipfile.ZipFile(OUT_DIR / "supported.npz") as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    print("wrote", sorted(p.name for p in OUT_DIR.iterdir()))


if __name__ == "__main__":
    main()
