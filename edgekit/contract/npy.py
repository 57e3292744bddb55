"""The .npy rules of the contract, in Python: what the C++ reader (cpp_runtime/src/npy.cpp parse_npy) accepts.

The C++ runtime reads .npy files (golden tensors, ``--input-npy``) with its own small parser; this module
applies the same rules under the same ids, so the contract corpus (tests/contract/corpus/npy) can hold the
two to one verdict. ``numpy.load`` is more permissive (big-endian, Fortran order, object arrays) than the
device is; use :func:`check_npy` before handing a file to the device.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.contract import NPY_DTYPES, ContractError

_MAGIC = b"\x93NUMPY"
_FIX = "save it with numpy.save (a C-order, little-endian array)"
_I64 = 2**63


@dataclass(frozen=True)
class NpyHeader:
    descr: str
    shape: tuple[int, ...]
    offset: int  # where the data starts


def _err(rule: str, msg: str, fix: str = _FIX) -> ContractError:
    return ContractError(msg, fix, rule)


def check_npy(b: bytes, what: str = "the .npy file") -> NpyHeader:
    """Validate .npy bytes as the C++ reader does; raise ContractError with the rule id."""
    if len(b) < 10 or b[:6] != _MAGIC:
        raise _err("npy.magic", f"{what} is not a NumPy .npy file (bad magic)")
    major = b[6]
    if major == 1:
        hlen, hstart = b[8] | (b[9] << 8), 10
    elif major in (2, 3):
        if len(b) < 12:
            raise _err("npy.header", f"{what} has a truncated .npy header")
        hlen, hstart = int.from_bytes(b[8:12], "little"), 12
    else:
        raise _err("npy.version", f"{what} has unsupported .npy format version {major}")
    if hstart + hlen > len(b):
        raise _err("npy.header", f"{what} has a truncated .npy header")
    header = b[hstart : hstart + hlen].decode("latin-1")

    def value_after(key: str) -> str:
        k = f"'{key}'"
        p = header.find(k)
        if p < 0:
            raise _err("npy.header", f"{what}: .npy header has no {k}")
        p = header.find(":", p + len(k))
        if p < 0:
            raise _err("npy.header", f"{what}: .npy header is malformed near {k}")
        p += 1
        while p < len(header) and header[p] in " \t":
            p += 1
        if p >= len(header):
            raise _err("npy.header", f"{what}: .npy header is malformed near {k}")
        if header[p] == "'":
            q = header.find("'", p + 1)
            end = q + 1 if q >= 0 else 0
        elif header[p] == "(":
            q = header.find(")", p)
            end = q + 1 if q >= 0 else 0
        else:
            cands = [i for i in (header.find(",", p), header.find("}", p)) if i >= 0]
            end = min(cands) if cands else -1
        if end <= 0 or end <= p:
            raise _err("npy.header", f"{what}: .npy header is malformed near {k}")
        return header[p:end]

    descr = value_after("descr")
    if len(descr) < 3 or descr[0] != "'":
        raise _err("npy.dtype", f"{what}: .npy 'descr' is not a simple dtype")
    descr = descr[1:-1]
    if descr in ("<u1", "<i1", "<b1"):
        descr = "|" + descr[1:]
    fortran = value_after("fortran_order")
    if fortran == "True":
        raise _err(
            "npy.fortran", f"{what} is a Fortran-order array", "save np.ascontiguousarray(arr) instead"
        )
    if fortran != "False":
        raise _err("npy.header", f"{what}: .npy 'fortran_order' is '{fortran}'")
    shape_s = value_after("shape")
    if len(shape_s) < 2 or shape_s[0] != "(":
        raise _err("npy.shape", f"{what}: .npy 'shape' is not a tuple")
    dims = shape_s[1:-1]
    shape: list[int] = []
    for tok in dims.split(","):
        t = tok.lstrip(" \t")
        if not t:
            continue
        t = t.rstrip(" \tL")
        if not _is_stoll(t):
            raise _err("npy.shape", f"{what}: .npy header has a bad shape '({dims})'")
        v = int(t)
        if v < 0:
            raise _err("npy.shape", f"{what}: .npy header has a bad shape '({dims})'")
        shape.append(v)
    if descr not in NPY_DTYPES:
        raise _err(
            "npy.dtype",
            f"unsupported NumPy dtype '{descr}'",
            "save the array as little-endian float32/float16/float64/int/uint (e.g. arr.astype(np.float32))",
        )
    count, overflow = 1, False
    for (
        d
    ) in shape:  # as NpyArray::count(): the running product overflows int64 -> refused, even if a 0 follows
        count *= d
        if count >= _I64:
            overflow = True
            break
    off = hstart + hlen
    nbytes = count * NPY_DTYPES[descr]
    if overflow or nbytes >= 2**64 or len(b) - off != nbytes:
        raise _err(
            "npy.size",
            f"{what} holds {len(b) - off} data bytes, its header {descr} {tuple(shape)} needs {nbytes}",
        )
    return NpyHeader(descr, tuple(shape), off)


def _is_stoll(t: str) -> bool:
    """What std::stoll(t, &used) with used == t.size() accepts (leading whitespace already removed)."""
    t = t.lstrip(" \t\n\v\f\r")
    s = t[1:] if t[:1] in "+-" else t
    if not s or not s.isascii() or not s.isdigit():
        return False
    return -(2**63) <= int(t) < 2**63
