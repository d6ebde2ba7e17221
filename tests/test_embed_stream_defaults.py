"""How ``embed_paintings`` sizes its decode pool and chooses phases or overlap by default (issue #12)."""

from __future__ import annotations

from artsim.embedding.runtimes.backends import cpu_threads
from artsim.indexing.embed_stream import embed_paintings
from artsim.inputs.collection import Painting
from tests.helpers import TinyEmbedder

PAINTINGS = [Painting(sha256=str(i), path=f"/nonexistent/{i}.jpg", artist="A", title=str(i)) for i in range(3)]


def test_one_decode_thread_per_core_by_default_and_at_most_two_per_core():
    assert embed_paintings(PAINTINGS, TinyEmbedder()).workers == cpu_threads()
    assert embed_paintings(PAINTINGS, TinyEmbedder(), workers=10_000).workers == 2 * cpu_threads()
    assert embed_paintings(PAINTINGS, TinyEmbedder(), workers=1).workers == 1


def test_phases_on_the_cpu_overlap_where_the_model_runs_on_a_gpu():
    cpu, gpu = TinyEmbedder(), TinyEmbedder()
    cpu.runtime, gpu.runtime = "torch-bf16-frozen", "cuda"
    assert embed_paintings(PAINTINGS, TinyEmbedder()).overlap is False  # no runtime named: the CPU
    assert embed_paintings(PAINTINGS, cpu).overlap is False
    assert embed_paintings(PAINTINGS, gpu).overlap is True
    assert embed_paintings(PAINTINGS, gpu, overlap=False).overlap is False  # the caller decides when asked


def test_default_stream_still_reports_each_unreadable_file():
    with embed_paintings(PAINTINGS, TinyEmbedder()) as stream:
        assert list(stream) == []
    assert [path for path, _ in stream.skipped] == [p.path for p in PAINTINGS]
