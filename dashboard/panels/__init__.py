"""Panels of the shared sidebar: share link and export, the teacher's tour panel.

Imported by the router and by ``pages/``; they build on :mod:`dashboard.cache`.
"""
