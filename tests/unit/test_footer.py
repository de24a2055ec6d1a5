import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from progress_card.errors import FooterError, NeedMoreBytes
from progress_card.storage.footer import rows_from_tail
from tests.support import claiming_rows


def parquet(rows: int, row_group_size: int | None = None, columns: int = 1) -> bytes:
    data = pa.table({f"c{i}": list(range(rows)) for i in range(columns)})
    buffer = io.BytesIO()
    pq.write_table(data, buffer, row_group_size=row_group_size)
    return buffer.getvalue()


def test_rows_come_from_the_footer_alone() -> None:
    data = parquet(1_234)
    footer_and_more = data[-2_000:]
    assert rows_from_tail(footer_and_more, len(data)) == 1_234


def test_a_footer_longer_than_the_tail_asks_for_exactly_its_bytes() -> None:
    data = parquet(10_000, row_group_size=10, columns=5)
    with pytest.raises(NeedMoreBytes) as more:
        rows_from_tail(data[-1_000:], len(data))
    assert more.value.length == int.from_bytes(data[-8:-4], "little") + 8
    assert rows_from_tail(data[-more.value.length :], len(data)) == 10_000


@pytest.mark.parametrize(
    ("tail", "size", "reason"),
    [
        (b"not a parquet file at all", 25, "magic bytes PAR1 missing"),
        (b"\x00" * 8 + b"PARE", 100, "encrypted"),
        (b"\xff\xff\x00\x00PAR1", 100, "does not fit in a file of 100 bytes"),
        (b"PAR1garbagegarbage" + (10).to_bytes(4, "little") + b"PAR1", 40, "unreadable footer"),
    ],
)
def test_bytes_that_are_not_a_footer_are_explained(tail: bytes, size: int, reason: str) -> None:
    with pytest.raises(FooterError, match=reason):
        rows_from_tail(tail, size)


@pytest.mark.parametrize(
    ("claimed", "row_groups_too", "reason"),
    [
        (2**40, True, "claims 1,099,511,627,776 rows, impossible in a file of"),
        (-5, True, "claims -5 rows"),
        (1_235, False, "claims 1,235 rows but its row groups hold 1,234"),
    ],
)
def test_a_footer_that_cannot_be_true_is_not_counted(claimed: int, row_groups_too: bool, reason: str) -> None:
    data = claiming_rows(1_234, claimed, row_groups_too=row_groups_too)
    assert pq.read_metadata(pa.BufferReader(data)).num_rows == claimed
    with pytest.raises(FooterError, match=reason):
        rows_from_tail(data, len(data))
