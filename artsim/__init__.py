"""artsim: how a neural network sees paintings.

A small library (images, embedders, an embedding store, analysis, figures)
under a Streamlit dashboard and a CLI.
"""

__version__ = "0.1.0"
