"""artsim.inputs.file_hashes: digests kept on disk between runs, and what invalidates them."""

from __future__ import annotations

import hashlib
import os
import time

from artsim.inputs.collection import scan_paths
from artsim.inputs.file_hashes import RACY_NS, file_key, load_hashes, save_hashes


def later() -> int:
    """A save long after the files were written: nothing is racy (read at the test's run, not at import)."""
    return time.time_ns() + 10 * RACY_NS


def _painting(folder, name="a.jpg", data=b"\xff\xd8\xff\xe0 first version"):
    path = folder / "Artist" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_is(tmp_path):
    path = _painting(tmp_path / "p")
    cache_file = tmp_path / "home" / "file-hashes.json"
    hashes: dict = {}
    first = scan_paths([tmp_path / "p"], hash_cache=hashes).paintings
    assert [p.sha256 for p in first] == [hashlib.sha256(path.read_bytes()).hexdigest()]
    assert save_hashes(hashes, cache_file, now_ns=later()) == 1
    known = load_hashes(cache_file)
    assert known == hashes
    # a digest from the file is used as is: a next run does not read the file
    known[file_key(str(path), os.stat(path))] = "0" * 64
    assert [p.sha256 for p in scan_paths([tmp_path / "p"], hash_cache=known).paintings] == ["0" * 64]
    # same path, same size, mtime put back: new bytes are still noticed (ctime changed)
    st = os.stat(path)
    time.sleep(0.05)  # a later clock tick than the hashing (within one tick is the racy case, never saved)
    path.write_bytes(b"\xff\xd8\xff\xe0 other version")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    again = scan_paths([tmp_path / "p"], hash_cache=load_hashes(cache_file)).paintings
    assert [p.sha256 for p in again] == [hashlib.sha256(path.read_bytes()).hexdigest()] != [first[0].sha256]


def test_racy_entries_are_not_saved_and_damaged_files_read_empty(tmp_path):
    path = _painting(tmp_path / "p")
    hashes: dict = {}
    scan_paths([tmp_path / "p"], hash_cache=hashes)
    cache_file = tmp_path / "file-hashes.json"
    assert save_hashes(hashes, cache_file, now_ns=os.stat(path).st_mtime_ns) == 0  # just written: racy
    assert load_hashes(cache_file) == {}
    cache_file.write_text('{"version": 1, "entries": [["x", "not a number"]]}')
    assert load_hashes(cache_file) == {}
    assert load_hashes(tmp_path / "missing.json") == {}
