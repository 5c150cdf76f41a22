"""A columnar copy of a SQLite snapshot on disk (Arrow IPC, ``<database>-snapshot``), so a new process starts from
it and applies only the change-log entries written since, instead of reading the whole table."""
from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, Engine, text

from . import settings

FORMAT = "3"
# The file is the Arrow IPC file followed by a trailer written last: the CRC-32 of every byte before it, their
# number, and a magic. A file cut short, a flipped bit or an edited buffer fails the check as a whole.
TRAILER = struct.Struct("<IQ8s")
MAGIC = b"SEGCRC32"
_CHUNK = 1 << 24


class CacheError(Exception):
    """The cache file cannot be trusted (it is then rebuilt from the table)."""
SUFFIX = "-snapshot"
LOWER = "\x00lower:"  # prefix of a lowered dictionary's column (no field name can hold \x00)


def path_for(engine: Engine) -> Path | None:
    """Where the cache of this database lives; None for a server database, an in-memory one, or when switched
    off with ``SEGMENTER_SNAPSHOT_CACHE=0``."""
    if not settings.load().snapshot_cache:
        return None
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.database.startswith("file:"):
        return None
    return Path(url.database).resolve().with_name(Path(url.database).name + SUFFIX)


def _identity(conn: Connection, path: Path, seq: int) -> dict[str, str]:
    """What ties a cache to one database at one point of its change log: the file's inode and the change row at
    ``seq`` (a recreated or restored file differs in one of them)."""
    db = Path(str(path)[: -len(SUFFIX)])
    mark = conn.execute(text("SELECT contact_id FROM contact_changes WHERE seq = :s"), {"s": seq}).first()
    return {"inode": str(db.stat().st_ino), "seq": str(seq), "mark": "none" if mark is None else str(mark[0])}


def save(conn: Connection, path: Path, seq: int, fields: list[tuple[str, str]], ids: np.ndarray,
         columns: dict[str, tuple | np.ndarray]) -> bool:
    """Write the cache atomically (a temporary file, then a rename); False when the directory is not writable."""
    meta = {"format": FORMAT, "fields": json.dumps(fields), **_identity(conn, path, seq)}
    arrays = {"id": pa.array(ids)} | _arrays(columns)
    table = pa.table(arrays).replace_schema_metadata(meta)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        with open(tmp, "r+b") as f:  # the checksum of what is on disk, appended last
            crc, size = 0, 0
            while chunk := f.read(_CHUNK):
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            f.write(TRAILER.pack(crc, size, MAGIC))
        os.replace(tmp, path)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def verified(path: Path) -> memoryview:
    """The Arrow bytes of the file, read into memory (a mapped file that another process truncates would kill this
    one with SIGBUS) and checked against the trailer's CRC-32; CacheError when anything differs."""
    data = path.read_bytes()
    if len(data) < TRAILER.size:
        raise CacheError("the file is shorter than its trailer")
    crc, size, magic = TRAILER.unpack_from(data, len(data) - TRAILER.size)
    body = memoryview(data)[: len(data) - TRAILER.size]
    if magic != MAGIC or size != len(body):
        raise CacheError("the file is cut short or not a snapshot cache")
    if zlib.crc32(body) != crc:
        raise CacheError("its checksum does not match its content")
    return body


def load(conn: Connection, path: Path, fields: list[tuple[str, str]], top: int) -> tuple[int, pa.Table] | None:
    """(seq, table) when the cache belongs to this database and schema and is not ahead of it; None when it is
    another database's or out of date; CacheError when it is damaged."""
    try:
        table = pa.ipc.open_file(pa.py_buffer(verified(path))).read_all()
    except FileNotFoundError:
        return None
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    if meta.get("format") != FORMAT or meta.get("fields") != json.dumps(fields):
        return None
    seq = int(meta.get("seq", -1))
    if not 0 <= seq <= top or _identity(conn, path, seq) != {k: meta.get(k) for k in ("inode", "seq", "mark")}:
        return None
    return seq, table


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def text_parts(table: pa.Table, name: str) -> tuple[np.ndarray, pa.Array, pa.Array | None]:
    """(codes, dictionary, lowered dictionary or None when lowering changes nothing); the codes stay read-only
    views of the bytes read until the snapshot first writes to them."""
    chunk = _column(table, name)
    lowered = _column(table, LOWER + name).dictionary if LOWER + name in table.column_names else None
    return chunk.indices.to_numpy(zero_copy_only=False), chunk.dictionary, lowered


def column_values(table: pa.Table, name: str) -> np.ndarray:
    return _column(table, name).to_numpy(zero_copy_only=False)


def _arrays(columns: dict) -> dict[str, pa.Array]:
    """Text columns as dictionary arrays whose indices keep -1 for empty (written unchecked, read only by us), plus
    the lowered dictionary over the same indices when it differs; other columns as they are."""
    out: dict[str, pa.Array] = {}
    for name, value in columns.items():
        if isinstance(value, tuple):
            codes, dictionary, lowered = value
            indices = pa.array(codes)
            out[name] = pa.DictionaryArray.from_arrays(indices, dictionary, safe=False)
            if lowered is not None:
                out[LOWER + name] = pa.DictionaryArray.from_arrays(indices, lowered, safe=False)
        else:
            out[name] = pa.array(value)
    return out
