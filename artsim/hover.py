"""A Plotly figure as a self-contained HTML page that shows a thumbnail on hover.

Plotly hover labels cannot show images, so the page listens to ``plotly_hover``
and shows the point's thumbnail (a data URI carried in ``customdata``) in a
small panel. plotly.js is inlined from the installed plotly package, so the
page works with no network.
"""

from __future__ import annotations

from functools import lru_cache

import plotly.graph_objects as go

_PANEL = """
<div id="artsim-hover" style="position:absolute;top:8px;right:8px;z-index:10;display:none;
  background:rgba(255,255,255,.95);border:1px solid #ccc;border-radius:6px;padding:6px;
  font:12px sans-serif;max-width:200px;box-shadow:0 2px 6px rgba(0,0,0,.2)">
  <img id="artsim-hover-img" style="max-width:188px;max-height:188px;display:block;margin:auto"/>
  <div id="artsim-hover-text" style="margin-top:4px"></div>
</div>
"""

_SCRIPT = """
var plot = document.getElementById('{plot_id}');
var panel = document.getElementById('artsim-hover');
plot.on('plotly_hover', function(ev) {
  var p = ev.points[0];
  var uri = Array.isArray(p.customdata) ? p.customdata[1] : '';
  if (!uri) { return; }
  document.getElementById('artsim-hover-img').src = uri;
  // Titles come from users: parse inertly (DOMParser runs no scripts, loads nothing), show as text.
  var label = new DOMParser().parseFromString((p.text || '').replace(/<br>/g, ' · '), 'text/html');
  document.getElementById('artsim-hover-text').textContent = label.body.textContent;
  panel.style.display = 'block';
});
plot.on('plotly_unhover', function() { panel.style.display = 'none'; });
"""


@lru_cache(maxsize=1)
def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_with_hover_thumbnails(fig: go.Figure, *, height: int = 700) -> str:
    """HTML for ``fig`` that shows a point's thumbnail while it is hovered.

    ``fig`` comes from :func:`artsim.figures.scatter3d`: each point carries
    ``customdata = [row, thumbnail data URI or ""]`` and its caption as ``text``.
    """
    body = fig.to_html(
        include_plotlyjs=False,
        full_html=False,
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
        post_script=_SCRIPT,
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<script type='text/javascript'>{_plotlyjs()}</script></head>"
        f"<body style='margin:0'><div style='position:relative'>{_PANEL}{body}</div></body></html>"
    )
