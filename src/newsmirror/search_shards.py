"""The binary shard files of a search segment, which the site's search page
reads (``templates/site/search.js``): posting keys encoded, cut into files and
read back. Pure functions over numpy arrays (``search_index`` makes the keys).

A posting key is ``token << 13 | doc`` (a segment holds fewer than 8,192 articles).
A segment's postings are cut into shards of about ``SHARD_BYTES``, in token
order; a shard file is::

    b"NMS1" | u32 n | n × f64 token | n × u32 end offset | postings

(little-endian), the postings of token i being ``bytes[end[i-1]:end[i]]``: the
gaps between its ascending doc numbers (the first one counted from -1), each
a little-endian base-128 varint.
"""

from __future__ import annotations

import struct

import numpy as np

DOC_BITS = 13
MAX_DOCS = 1 << DOC_BITS  # articles in one segment, at most
SHARD_BYTES = 1 << 16
MAGIC = b"NMS1"
_U64 = np.uint64


def _varints(gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Base-128 varint bytes of ``gaps`` (int64 ≥ 1) and each one's end offset."""
    big = gaps >= 128
    nb = np.ones(len(gaps), dtype=np.int64)
    if big.any():
        for bits in (7, 14, 21, 28, 35, 42, 49, 56):
            nb += gaps >= (1 << bits)
    end = np.cumsum(nb)
    out = np.zeros(int(end[-1]) if len(end) else 0, dtype=np.uint8)
    pos = end - nb
    out[pos] = (gaps & 127) | (big << 7)
    idx = np.flatnonzero(big)
    for k in range(1, 9):
        if not len(idx):
            break
        g, n = gaps[idx], nb[idx]
        out[pos[idx] + k] = ((g >> (7 * k)) & 127) | ((n > k + 1) << 7)
        idx = idx[n > k + 1]
    return out, end


def _encode(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tokens, end offset of each token's postings, postings bytes) of sorted keys."""
    tok = keys >> _U64(DOC_BITS)
    starts = np.flatnonzero(np.concatenate(([True], tok[1:] != tok[:-1])))
    tokens = tok[starts]
    del tok
    doc = (keys & _U64(MAX_DOCS - 1)).astype(np.int64)
    gaps = np.empty(len(doc), dtype=np.int64)
    gaps[0] = doc[0] + 1
    gaps[1:] = doc[1:] - doc[:-1]
    gaps[starts] = doc[starts] + 1
    del doc
    data, end = _varints(gaps)
    return tokens, np.append(end[starts[1:] - 1], len(data)), data


CHUNK = 1 << 18  # keys encoded at once (bounded memory: ~10 bytes of temporaries a key)


Encoded = list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (tokens, ends, data) by chunk


def encode_keys(keys: np.ndarray, base: int = 0) -> Encoded:
    """Sorted posting keys encoded, a chunk at a time (``shard_files`` cuts them into
    files: the keys, several times the size of their encoding, can be let go first);
    ``base``: the bytes of postings encoded before them (keys of lower tokens)."""
    parts: Encoded = []
    i, n = 0, len(keys)
    while i < n:
        j = min(n, i + CHUNK)
        if j < n:  # end the chunk where a token starts
            t = keys[j] >> _U64(DOC_BITS)
            j = int(np.searchsorted(keys, t << _U64(DOC_BITS)))
            if j <= i:
                j = int(np.searchsorted(keys, (t + _U64(1)) << _U64(DOC_BITS)))
        tokens, ends, data = _encode(keys[i:j])
        parts.append((tokens, ends + base, data))
        base += len(data)
        i = j
    return parts


def shard_files(parts: Encoded) -> list[tuple[int, bytes]]:
    """The shard files (first token, bytes) of ``encode_keys``' chunks."""
    if not parts:
        return []
    tokens = np.concatenate([p[0] for p in parts])
    tok_end = np.concatenate([p[1] for p in parts])
    data = np.concatenate([p[2] for p in parts])
    parts.clear()  # (handed over: the chunks are copied into the arrays above)
    tok_begin = np.concatenate(([0], tok_end[:-1]))
    shard_of = tok_begin // SHARD_BYTES
    cuts = np.flatnonzero(np.concatenate(([True], shard_of[1:] != shard_of[:-1])))
    out: list[tuple[int, bytes]] = []
    for k, lo in enumerate(cuts):
        hi = cuts[k + 1] if k + 1 < len(cuts) else len(tokens)
        b0, b1 = int(tok_begin[lo]), int(tok_end[hi - 1])
        ends = (tok_end[lo:hi] - b0).astype("<u4")
        head = MAGIC + struct.pack("<I", hi - lo)
        body = tokens[lo:hi].astype("<f8").tobytes() + ends.tobytes() + data[b0:b1].tobytes()
        out.append((int(tokens[lo]), head + body))
    return out


def shard_keys(raw: bytes) -> np.ndarray:
    """The posting keys of a shard file, sorted (the inverse of ``shard_files(encode_keys(keys))``)."""
    if raw[:4] != MAGIC:
        raise ValueError("not a search shard")
    (n,) = struct.unpack_from("<I", raw, 4)
    tokens = np.frombuffer(raw, dtype="<f8", count=n, offset=8).astype(_U64)
    ends = np.frombuffer(raw, dtype="<u4", count=n, offset=8 + 8 * n).astype(np.int64)
    data = np.frombuffer(raw, dtype=np.uint8, offset=8 + 12 * n)
    gaps = _unvarints(data).astype(np.int64)
    upto = np.searchsorted(np.flatnonzero(data < 128), ends)  # postings before each end
    counts = np.diff(np.concatenate(([0], upto)))
    total = np.cumsum(gaps)
    before = np.concatenate(([0], total))[upto - counts]  # the sum up to each token's first
    doc = total - np.repeat(before, counts) - 1
    return (np.repeat(tokens, counts) << _U64(DOC_BITS)) | doc.astype(_U64)


def read_shard(raw: bytes) -> dict[int, list[int]]:
    """A shard file back as {token: doc numbers} (tests and tools)."""
    if raw[:4] != MAGIC:
        raise ValueError("not a search shard")
    (n,) = struct.unpack_from("<I", raw, 4)
    tokens = np.frombuffer(raw, dtype="<f8", count=n, offset=8).astype(np.int64)
    ends = np.frombuffer(raw, dtype="<u4", count=n, offset=8 + 8 * n)
    data = raw[8 + 12 * n :]
    out: dict[int, list[int]] = {}
    begin = 0
    for t, e in zip(tokens.tolist(), ends.tolist(), strict=True):
        docs, doc, val, shift = [], -1, 0, 0
        for b in data[begin:e]:
            val |= (b & 127) << shift
            shift += 7
            if b < 128:
                doc += val
                docs.append(doc)
                val = shift = 0
        out[t] = docs
        begin = e
    return out


def _unvarints(data: np.ndarray) -> np.ndarray:
    """The numbers of ``_varints`` bytes, back (uint64)."""
    ends = np.flatnonzero(data < 128)
    starts = np.concatenate(([0], ends[:-1] + 1))
    n = ends - starts + 1
    vals = (data[starts] & 127).astype(_U64)
    idx = np.flatnonzero(n > 1)
    k = 1
    while len(idx):
        vals[idx] |= (data[starts[idx] + k] & 127).astype(_U64) << _U64(7 * k)
        k += 1
        idx = idx[n[idx] > k]
    return vals


def pack(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct keys as varint gaps (about a third of their size)."""
    gaps = np.empty(len(keys), dtype=np.int64)
    if len(keys):
        gaps[0] = int(keys[0])
        gaps[1:] = (keys[1:] - keys[:-1]).astype(np.int64)
    return _varints(gaps)[0]


def unpack(data: np.ndarray) -> np.ndarray:
    return np.cumsum(_unvarints(data), dtype=_U64) if len(data) else np.zeros(0, _U64)
