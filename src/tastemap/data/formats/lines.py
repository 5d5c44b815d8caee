"""Lines of a raw file: blocks of whole lines, zero-copy line views and UTF-8 decoding.

A stream is read in blocks of whole lines (:func:`_raw_blocks`; an over-long line keeps only its
head), cut into pieces of bounded line count (:func:`_pieces`). numpy finds the line ends of a
block, and its lines become one Arrow binary array without a copy (:func:`_line_view`), cast to
strings at once; the few lines that are not valid UTF-8 are found in bulk (:func:`_bad_utf8`) and
decoded with backslash escapes. :func:`iter_lines` yields a file's physical lines this way; the
block reader of the line formats is :mod:`tastemap.data.formats.blocks`.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.formats.base import BLOCK_BYTES, MAX_LINE_CHARS
from tastemap.data.formats.source import open_input

_BOM = b"\xef\xbb\xbf"


def _raw_blocks(stream: BinaryIO, block_bytes: int,
                max_line: int = MAX_LINE_CHARS) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines as ``(data, end)``: ``data[:end]`` ends with b'\\n' (one is added
    after an unterminated last line). The bytes after ``end`` (a cut line) start the next block.

    A line longer than a block is read on to its end, but only its first ``max_line + 1`` bytes
    are kept (it is rejected as too long whatever follows): memory stays bounded by the block
    size on a file with no line ends at all (a decompression bomb of one endless line).
    """
    parts: list[bytes] = []
    held = 0  # bytes in parts
    while True:
        chunk = stream.read(block_bytes)
        if not chunk:
            if parts:
                last = b"".join(parts)
                yield last + b"\n", len(last) + 1
            return
        cut = chunk.rfind(b"\n")
        if cut < 0:
            if held <= max_line:  # past that, the line is too long whatever else it holds
                parts.append(chunk[: max_line + 4 - held])  # + 4: room to end on a whole character
                held += len(parts[-1])
                if held > max_line:
                    parts = [_whole_chars(b"".join(parts))]  # >= max_line + 1 bytes
                    held = len(parts[0])
            continue
        if held > max_line:  # the end of an over-long line: keep its head, drop the rest
            first = chunk.find(b"\n")
            chunk = chunk[first:]
            cut -= first
        data = b"".join(parts + [chunk]) if parts else chunk
        end = len(data) - len(chunk) + cut + 1
        yield data, end
        parts = [chunk[cut + 1:]] if cut + 1 < len(chunk) else []
        held = len(parts[0]) if parts else 0


def _whole_chars(data: bytes) -> bytes:
    """``data`` without the bytes of a UTF-8 character cut at its end (if any).

    >>> _whole_chars("aé".encode()[:2]), _whole_chars("aé".encode())
    (b'a', b'a\\xc3\\xa9')
    """
    k = len(data) - 1
    while k > 0 and len(data) - k < 4 and data[k] & 0xC0 == 0x80:  # continuation bytes
        k -= 1
    lead = data[k]
    need = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return data[:k] if len(data) - k < need else data


def _pieces(data: bytes, end: int, max_lines: int) -> Iterator[tuple[bytes, int]]:
    """``(data, end)`` cut at line ends into pieces of at most ``max_lines`` lines each.

    The per-line arrays of a block take ~40 bytes a line, so a block of one-byte lines (blank
    lines) would take 40x its size; pieces keep that bounded. A block of ordinary lines is one
    piece, returned as it is.

    >>> [p[:e] for p, e in _pieces(b"a\\n\\n\\nb\\nc\\nrest", 8, 2)]
    [b'a\\n', b'\\n\\n', b'b\\nc\\n']
    """
    if data.count(b"\n", 0, end) <= max_lines:
        yield data, end
        return
    mid = data.rfind(b"\n", 0, end // 2) + 1 or data.find(b"\n", end // 2) + 1
    yield from _pieces(data[:mid], mid, max_lines)
    yield from _pieces(data[mid:end], end - mid, max_lines)


def _line_view(data: bytes, end: int, skip: int = 0):
    """Zero-copy view of ``data[skip:end]`` (whole lines) as an Arrow binary array, one line each.

    Line i is ``data[offsets[i]:offsets[i+1]]`` including its '\\n' (Arrow strings are
    contiguous). Returns ``(buf, ends, offsets, binary)``: the bytes as uint8, the positions of
    the '\\n's, the int32 offsets and the array.
    """
    buf = np.frombuffer(data, dtype=np.uint8, count=end)
    ends = np.flatnonzero(buf == 10)
    offsets = np.empty(len(ends) + 1, dtype=np.int32)
    offsets[0] = skip
    offsets[1:] = ends + 1
    binary = pa.BinaryArray.from_buffers(pa.binary(), len(ends),
                                         [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return buf, ends, offsets, binary


def _decode(binary: pa.BinaryArray) -> tuple[pa.StringArray, np.ndarray]:
    """Binary lines -> strings + mask of invalid UTF-8 (those decoded with backslash escapes)."""
    try:
        return binary.cast(pa.string()), np.zeros(len(binary), dtype=bool)
    except pa.ArrowInvalid:
        return _decode_slowly(binary)


def _decode_slowly(binary: pa.BinaryArray, block: int = 16384) -> tuple[pa.StringArray, np.ndarray]:
    """Cast block by block; in the blocks holding invalid UTF-8, decode the invalid lines with
    backslash escapes (Python's ``backslashreplace``) and the others as they are.

    The invalid lines are found by :func:`_bad_utf8` in bulk and confirmed by Python's decoder,
    so only they pass through Python; should the bulk check ever miss one, the block is decoded
    line by line in Python instead (the same result, slower).
    """
    parts, bad = [], np.zeros(len(binary), dtype=bool)
    for lo in range(0, len(binary), block):
        piece = binary[lo: lo + block]
        try:
            parts.append(piece.cast(pa.string()))
            continue
        except pa.ArrowInvalid:
            pass
        text, bad[lo: lo + len(piece)] = _decode_bad_lines(piece)
        parts.append(text)
    return pa.concat_arrays(parts), bad


def _decode_bad_lines(binary: pa.BinaryArray) -> tuple[pa.StringArray, np.ndarray]:
    bad = _bad_utf8(binary)
    idx = np.flatnonzero(bad)
    fixed = []
    for i, value in zip(idx, binary.take(pa.array(idx, pa.int64())).to_pylist()):
        try:
            value.decode("utf-8")
            bad[i] = False  # valid after all: kept as it is
        except UnicodeDecodeError:
            fixed.append(value.decode("utf-8", errors="backslashreplace").encode())
    try:
        out = pc.replace_with_mask(binary, pa.array(bad), pa.array(fixed, pa.binary()))
        return out.cast(pa.string()), bad
    except pa.ArrowInvalid:
        return _decode_in_python(binary)


def _decode_in_python(binary: pa.BinaryArray) -> tuple[pa.StringArray, np.ndarray]:
    texts, bad = [], np.zeros(len(binary), dtype=bool)
    for i, value in enumerate(binary.to_pylist()):
        try:
            texts.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(value.decode("utf-8", errors="backslashreplace"))
            bad[i] = True
    return pa.array(texts, pa.string()), bad


def _bad_utf8(binary: pa.BinaryArray) -> np.ndarray:
    """Lines (n,) holding a byte sequence that is not UTF-8, found with numpy over the whole
    buffer: a stray continuation byte, a lead byte without its continuations, the bytes that
    never occur (C0, C1, F5-FF), overlong forms, surrogates and code points above U+10FFFF.
    Each line ends with its b"\\n" (as :func:`_line_view` makes them), which no sequence crosses.

    >>> lines = [b"ok", "Motörhead".encode(), b"Mot\\xf6rhead", b"\\xed\\xa0\\x80", b"\\xe2\\x82"]
    >>> _bad_utf8(pa.array([line + b"\\n" for line in lines], pa.binary())).tolist()
    [False, False, True, True, True]
    """
    offsets = np.frombuffer(binary.buffers()[1], np.int32)[binary.offset: binary.offset + len(binary) + 1]
    b = np.frombuffer(binary.buffers()[2], np.uint8)[offsets[0]: offsets[-1]].astype(np.int16)
    offsets = offsets - offsets[0]
    nxt = [np.concatenate([b[k:], np.full(k, -1, np.int16)]) for k in (1, 2, 3)]
    cont = [(x & 0xC0) == 0x80 for x in (b, *nxt)]  # cont[k][i]: byte i + k continues
    lead2, lead3, lead4 = (b >= 0xC2) & (b <= 0xDF), (b & 0xF0) == 0xE0, (b >= 0xF0) & (b <= 0xF4)
    whole = (lead2 & cont[1]) | (lead3 & cont[1] & cont[2]) | (lead4 & cont[1] & cont[2] & cont[3])
    b1 = nxt[0]
    wrong = ((b == 0xE0) & (b1 < 0xA0)) | ((b == 0xED) & (b1 >= 0xA0)) \
        | ((b == 0xF0) & (b1 < 0x90)) | ((b == 0xF4) & (b1 >= 0x90))
    bad_lead = ((lead2 | lead3 | lead4) & (~whole | wrong)) | (b >= 0xF5) | (b == 0xC0) | (b == 0xC1)
    prev = [np.concatenate([np.zeros(k, bool), x[:-k]]) for k, x in
            ((1, lead2 | lead3 | lead4), (2, lead3 | lead4), (3, lead4))]
    claimed = prev[0] | (prev[1] & np.concatenate([[False], cont[0][:-1]])) \
        | (prev[2] & np.concatenate([[False, False], cont[0][:-2] & cont[0][1:-1]]))
    where = np.flatnonzero(bad_lead | (cont[0] & ~claimed))
    bad = np.zeros(len(binary), dtype=bool)
    bad[np.searchsorted(offsets, where, side="right") - 1] = True
    return bad


def iter_lines(path: str | Path, block_bytes: int = BLOCK_BYTES, what: str = "text",
               known: str | None = None) -> Iterator[tuple[int, pa.StringArray, np.ndarray]]:
    """Yield ``(first_line_number, lines, bad_utf8)`` blocks of the physical lines of ``path``.

    ``lines`` is an Arrow string array of n lines without their line ends (``\\n``, ``\\r\\n``);
    ``bad_utf8`` is a boolean array (n,) marking lines that are not valid UTF-8 (their text is
    decoded with backslash escapes). A UTF-8 byte-order mark at the file start is skipped.
    Compressed files and archives are read as :func:`~tastemap.data.formats.source.open_input` says.
    """
    line_no = 1
    with open_input(path, what, known) as source:
        for i, (data, end) in enumerate(_raw_blocks(source.stream, block_bytes)):
            skip = 3 if i == 0 and data.startswith(_BOM) else 0
            _, _, _, binary = _line_view(data, end, skip)
            lines, bad = _decode(binary)
            yield line_no, pc.utf8_rtrim(lines, characters="\r\n"), bad
            line_no += len(lines)
