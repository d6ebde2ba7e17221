"""What one replica does in the store race test (run in a ``spawn``-ed process: never fork after LanceDB)."""

from __future__ import annotations

import hashlib
import os

from artsim.inputs.collection import Painting
from artsim.store.collections import CollectionError, Collections
from artsim.store.tours import Step, TourError, Tours

BLOB_BYTES = 100_000


def blob(i: int) -> tuple[Painting, bytes]:
    """A distinct stored image of :data:`BLOB_BYTES` bytes."""
    data = i.to_bytes(4, "big") * (BLOB_BYTES // 4)
    sha = hashlib.sha256(data).hexdigest()
    return Painting(sha256=sha, path=f"/in/{sha}.jpg", artist="A", title=f"t{i}"), data


def replica(who: int, plan: dict, barrier, results) -> None:
    """Race the other replica: steps into one tour, paintings into one capped collection, images into the quota.

    Every phase starts at a barrier so both replicas write at once; what each saw goes to ``results``.
    """
    uri, uploads = plan["uri"], plan["uploads"]
    tours, collections = Tours(uri), Collections(uri, uploads_dir=uploads)
    out: dict = {"who": who, "tour_errors": [], "refused": 0, "quota_refused": 0, "other": []}
    try:
        barrier.wait(60)
        for i in range(plan["steps"]):
            try:
                tours.add(plan["tour"], plan["tour_token"], Step("gallery", {"who": str(who), "i": str(i)}))
            except TourError as exc:
                out["tour_errors"].append(str(exc))
        barrier.wait(60)
        for i in range(plan["paintings"]):
            try:
                collections.add(plan["collection"], plan["collection_token"], [blob(1000 * who + i)])
            except CollectionError:
                out["refused"] += 1
        os.environ["ARTSIM_STORE_QUOTA_MB"] = str(plan["quota_mb"])
        barrier.wait(60)
        mine = plan["quota_collections"][who]
        for i in range(plan["paintings"]):
            try:
                collections.add(mine[0], mine[1], [blob(5000 + 1000 * who + i)])
            except CollectionError:
                out["quota_refused"] += 1
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out["other"].append(repr(exc))
    results.put(out)
