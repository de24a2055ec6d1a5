"""Row counts from the end of a parquet file, without reading its data.

A parquet file ends with its metadata (the footer), a 4-byte little-endian footer length and the
magic `PAR1`. Reading the last few KiB is enough for a typical footer; a longer one needs a
second read of exactly the bytes it occupies.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import FooterError, NeedMoreBytes

MAGIC = b"PAR1"
MINIMUM_SIZE = 12
"""Leading magic, footer length and trailing magic: no parquet file is shorter."""
TAIL_GUESS = 64 * 1024
"""Bytes to read first from the end of a shard: enough for the footer of a typical shard."""


def rows_from_tail(tail: bytes, file_size: int) -> int:
    """The number of rows the footer in `tail` (the last bytes of a `file_size`-byte file) declares."""
    if len(tail) < 8 or tail[-4:] != MAGIC:
        if tail[-4:] == b"PARE":
            raise FooterError("the footer is encrypted")
        raise FooterError("no parquet footer at the end of the file (magic bytes PAR1 missing)")
    footer_length = int.from_bytes(tail[-8:-4], "little")
    needed = footer_length + 8
    if needed + len(MAGIC) > file_size:
        raise FooterError(f"footer length {footer_length} does not fit in a file of {file_size} bytes")
    if needed > len(tail):
        raise NeedMoreBytes(needed)
    # The footer alone, framed as a file, is all pyarrow needs to read the metadata.
    framed = MAGIC + tail[-needed:]
    try:
        metadata = pq.read_metadata(pa.BufferReader(framed))
    except (pa.ArrowException, OSError) as error:
        raise FooterError(f"unreadable footer: {error}") from error
    return plausible_rows(metadata, file_size)


ROWS_PER_BYTE = 8
"""The most rows a shard can hold per byte of file: one bit a row. Text documents take hundreds of
bytes each; a footer that claims more has been damaged, or was not written by a parquet writer."""


def plausible_rows(metadata: pq.FileMetaData, file_size: int) -> int:
    """The footer's row count, when it can be true: within [0, ROWS_PER_BYTE x file size], and the sum
    of its row groups'."""
    rows = int(metadata.num_rows)
    if not 0 <= rows <= ROWS_PER_BYTE * file_size:
        raise FooterError(
            f"the footer claims {rows:,} rows, impossible in a file of {file_size:,} bytes "
            f"(at most {ROWS_PER_BYTE} rows a byte): the file is damaged"
        )
    groups = sum(int(metadata.row_group(index).num_rows) for index in range(metadata.num_row_groups))
    if groups != rows:
        raise FooterError(
            f"the footer claims {rows:,} rows but its row groups hold {groups:,}: the file is damaged"
        )
    return rows
