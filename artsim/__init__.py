"""artsim: how a neural network sees paintings.

A library under a Streamlit dashboard and a CLI, grouped by job:

- :mod:`artsim.inputs`: untrusted files in (pre-scan, decoding, limits, names, folder scans);
- :mod:`artsim.uploads`: a stranger's files and ZIPs into a collection (sandboxed decoding);
- :mod:`artsim.sources`: where paintings come from (gallery manifest, HTTP, IIIF);
- :mod:`artsim.embedding`: the models and the runtimes that run them;
- :mod:`artsim.store`: the vector database (vectors, thumbnails, collections, tours, ANN);
- :mod:`artsim.indexing`: embedding jobs (cache-first, resumable, on Ray);
- :mod:`artsim.analysis`: similarity, clustering, projection, evaluation, walks;
- :mod:`artsim.explain`: why two paintings are similar;
- :mod:`artsim.figures`: Plotly figures, the thumbnail map, exports;
- top level: ``cli``, ``config``, ``errors``, ``files``, ``ids``, ``lazy``, ``progress``, ``viewstate``.

``docs/architecture.md`` says what each group may import.
"""

__version__ = "0.1.0"
