import json

import pytest

from progress_card.compute.stats import final_figures
from progress_card.errors import StatsFormatError
from progress_card.model import FinalFigures

DATATROVE_STATS = [
    {"name": "📖 - READER: 🗂 HuggingFaceDatasetReader", "time_stats": {"total": 3.1},
     "stats": {"documents": 5000, "doc_len": {"total": 617000, "n": 5000, "mean": 123.4, "min": 3, "max": 900}}},
    {"name": "🔁 - INFERENCE: InferenceRunner", "time_stats": {"total": 98.2},
     "stats": {"documents_processed": 4990,
               "prompt_tokens": {"total": 250000, "n": 4990, "mean": 50.1, "unit": "request"},
               "completion_tokens": {"total": 1_500_000, "n": 4990, "mean": 300.6, "unit": "request"},
               "successful_requests": 4990}},
    {"name": "💽 - WRITER: 🐻 ParquetWriter", "time_stats": {"total": 1.0}, "stats": {"total": 4990}},
]  # fmt: skip


def test_datatrove_stats_give_documents_tokens_and_means() -> None:
    assert final_figures(json.dumps(DATATROVE_STATS).encode()) == FinalFigures(
        documents=4990,
        prompt_tokens=250000,
        completion_tokens=1_500_000,
        prompt_tokens_mean=50.1,
        completion_tokens_mean=300.6,
        mean_doc_chars=123.4,
    )


def test_a_reader_only_pipeline_counts_its_documents() -> None:
    stats = [{"name": "r", "stats": {"doc_len": {"total": 10, "n": 4, "mean": 2.5}}}]
    figures = final_figures(json.dumps(stats).encode())
    assert figures is not None
    assert (figures.documents, figures.prompt_tokens, figures.mean_doc_chars) == (4, None, 2.5)


@pytest.mark.parametrize("content", [b"{}", b"[]", b'{"documents": 3}', b"[1, 2]", b'"done"'])
def test_other_json_is_not_datatrove_stats(content: bytes) -> None:
    assert final_figures(content) is None


def test_a_half_written_file_is_an_error() -> None:
    with pytest.raises(StatsFormatError, match="not valid JSON"):
        final_figures(json.dumps(DATATROVE_STATS).encode()[:100])
