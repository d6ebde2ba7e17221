"""The Streamlit shell around the artsim library: the cached layer the pages use.

``dashboard.cache`` holds the Streamlit-bound handles (store, collections,
models) and the cached analysis; pages import it and only lay out.
"""
