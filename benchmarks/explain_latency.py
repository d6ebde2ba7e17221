"""Time a pair's explanation: what the Explain page does when both vectors are cached.

For each model (efficientnet-lite0, resnet50 when weights are found, and one Gram
view), on pairs of real paintings: the model's first build (once per process),
the feature maps of two paintings (decode + one fp32 eager forward each, then
cached), and the decomposition itself. The cold pair is what a user waits for on
a new pair; a cached pair (flipping back) costs only the decomposition.
Prints one ``model=... pair_cold_ms=... pair_cold_cpu_ms=... pair_cached_ms=...`` line per
model (CPU time of the process too: on a shared machine wall time mostly measures the others).

    .venv/bin/python benchmarks/explain_latency.py --images ../shared/gallery --pairs 5
"""

from __future__ import annotations

import argparse
import statistics
import time

from artsim.embedding import available_models, get_embedder
from artsim.embedding.features import eager_model
from artsim.explain import MapCache, explain_pair
from artsim.inputs.collection import scan_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="a folder of paintings (<Artist>/<file>)")
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    paintings = scan_folder(args.images).paintings[: 2 * args.pairs]
    models = ["efficientnet-lite0", "efficientnet-lite0:gram1"]
    if available_models()["resnet50"] is None:
        models.insert(1, "resnet50")
    for name in models:
        embedder = get_embedder(name, lazy=True)
        start = time.perf_counter()
        eager_model(getattr(embedder, "base", embedder))
        build = time.perf_counter() - start
        cache = MapCache()
        cold, cached, cold_cpu = [], [], []
        for i in range(0, len(paintings) - 1, 2):
            a, b = paintings[i], paintings[i + 1]
            for times in (cold, cached):
                start, cpu = time.perf_counter(), time.process_time()
                ma = cache.get(embedder, a.sha256, a.path)
                mb = cache.get(embedder, b.sha256, b.path)
                explain_pair(ma.features, mb.features, mean=ma.pooled * 0.5, k=5)
                times.append(1000 * (time.perf_counter() - start))
                if times is cold:
                    cold_cpu.append(1000 * (time.process_time() - cpu))
        print(
            f"model={name} stored_precision={getattr(getattr(embedder, 'base', embedder), 'precision', '?')} "
            f"build_s={build:.2f} pair_cold_ms={statistics.median(cold):.0f} "
            f"pair_cold_cpu_ms={statistics.median(cold_cpu):.0f} "
            f"pair_cached_ms={statistics.median(cached):.1f} pairs={len(cold)}"
        )


if __name__ == "__main__":
    main()
