"""Page pieces shared or too big for a page script: notices, the 3-D map component,
"why?" links, bootstrap intervals, model depths and the Compare page's cache.

Imported by the router and by ``pages/``; they build on :mod:`dashboard.cache`.
"""
