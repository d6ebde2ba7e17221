"""The 3-D map's front end: a static page that loads plotly.js once and shows
a painting's thumbnail beside the pointer.

Plotly hover labels cannot show images, so the page listens to
``plotly_hover`` and shows the point's thumbnail (a URL carried in
``customdata[1]``) with its caption in a small panel placed beside the
pointer, on the side away from the legend. The page, plotly.js and the
thumbnails are plain files in one folder (:func:`prepare_assets`,
:func:`write_thumbnails`) that the app serves as a Streamlit component:
the browser fetches plotly.js and each thumbnail once, and a rerun sends only
the figure (:func:`figure_json`), a few kilobytes at 45 paintings.
No Streamlit here: ``dashboard/widgets/map3d.py`` declares the component.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import plotly
import plotly.graph_objects as go

#: Bump when INDEX_HTML changes (the folder name carries it, so a browser never mixes versions).
ASSET_VERSION = "3"
THUMBS_DIR = "thumbs"
_SHA = re.compile(r"[0-9a-f]{64}")

INDEX_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>3-D map of the paintings</title>
<style>
html,body{margin:0;padding:0;overflow:hidden;font-family:"Source Sans Pro",sans-serif}
#tip{position:fixed;display:none;pointer-events:none;z-index:10;background:rgba(255,255,255,.97);
  border:1px solid #ccc;border-radius:6px;padding:6px;font-size:12px;width:172px;
  box-shadow:0 2px 6px rgba(0,0,0,.2)}
#tip img{display:block;max-width:172px;max-height:172px;margin:auto}
#tiptext{margin-top:4px;overflow-wrap:anywhere}
body.touch .gl-container, body.touch .nsewdrag{pointer-events:none}
</style>
<script src="plotly.min.js"></script></head>
<body><div id="plot"></div>
<div id="tip"><img id="tipimg" alt=""><div id="tiptext"></div></div>
<script>
(function () {
  var plot = document.getElementById('plot'), tip = document.getElementById('tip');
  var img = document.getElementById('tipimg'), txt = document.getElementById('tiptext');
  var mouse = {x: 0, y: 0}, bound = false;
  function send(type, data) {
    window.parent.postMessage(Object.assign({isStreamlitMessage: true, type: type}, data || {}), '*');
  }
  function overlaps(a, b) {
    return !(a.right < b.left || a.left > b.right || a.bottom < b.top || a.top > b.bottom);
  }
  // Beside the pointer, inside the frame, never over the legend or the pointer itself.
  function place() {
    var w = tip.offsetWidth, h = tip.offsetHeight, W = window.innerWidth, H = window.innerHeight, g = 18;
    var leg = plot.querySelector('.legend'), lr = leg ? leg.getBoundingClientRect() : null;
    var tries = [[mouse.x + g, mouse.y + g], [mouse.x - g - w, mouse.y + g],
                 [mouse.x + g, mouse.y - g - h], [mouse.x - g - w, mouse.y - g - h]];
    var best = null;
    for (var i = 0; i < tries.length; i++) {
      var x = Math.min(Math.max(tries[i][0], 0), Math.max(W - w, 0));
      var y = Math.min(Math.max(tries[i][1], 0), Math.max(H - h, 0));
      var r = {left: x, top: y, right: x + w, bottom: y + h};
      var onPointer = mouse.x >= r.left && mouse.x <= r.right && mouse.y >= r.top && mouse.y <= r.bottom;
      if (onPointer) { continue; }
      if (!(lr && overlaps(r, lr))) { best = [x, y]; break; }
      if (!best) { best = [x, y]; }
    }
    best = best || [0, 0];
    tip.style.left = best[0] + 'px';
    tip.style.top = best[1] + 'px';
  }
  document.addEventListener('mousemove', function (e) {
    mouse.x = e.clientX; mouse.y = e.clientY;
    if (tip.style.display === 'block') { place(); }
  });
  function bind() {
    plot.on('plotly_hover', function (ev) {
      var p = ev.points[0];
      var uri = Array.isArray(p.customdata) ? p.customdata[1] : '';
      // Captions are escaped text with our <b>/<br>: parse inertly, show as text.
      var doc = new DOMParser().parseFromString(String(p.text || '').replace(/<br>/g, ' \\u00b7 '), 'text/html');
      txt.textContent = doc.body.textContent;
      if (uri) { img.src = uri; img.style.display = 'block'; } else { img.style.display = 'none'; }
      tip.style.display = 'block';
      place();
    });
    plot.on('plotly_unhover', function () { tip.style.display = 'none'; });
  }
  window.addEventListener('message', function (e) {
    var d = e.data;
    if (!d || d.type !== 'streamlit:render') { return; }
    var spec = JSON.parse(d.args.spec), h = d.args.height;
    // The frame's name for a screen reader (Streamlit titles it with the component's module path).
    if (d.args.title) {
      document.title = d.args.title;
      try { window.frameElement.title = d.args.title; } catch (err) { /* another origin: keep ours */ }
    }
    // On a touch screen a swipe scrolls the page: the 3-D scene takes no touch there (no orbit);
    // the legend still does, and the table under the map has every painting's numbers.
    if (window.matchMedia && window.matchMedia('(pointer: coarse)').matches) {
      spec.layout.scene = Object.assign({}, spec.layout.scene, {dragmode: false});
      spec.layout.dragmode = false;
      document.body.classList.add('touch');
    }
    spec.data.forEach(function (t) { t.hoverinfo = 'none'; delete t.hovertemplate; });  // our panel instead
    spec.layout.height = h;
    plot.style.height = h + 'px';
    Plotly.react(plot, spec.data, spec.layout, {displaylogo: false, responsive: true, scrollZoom: false}).then(function () {
      if (!bound) { bind(); bound = true; }
      send('streamlit:setFrameHeight', {height: h});
    });
  });
  send('streamlit:componentReady', {apiVersion: 1});
})();
</script></body></html>
"""


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_assets(folder: str | os.PathLike) -> Path:
    """Write the map page and plotly.js (from the installed plotly package) into ``folder``.

    Idempotent and safe with concurrent callers (atomic writes). Returns the folder.
    """
    folder = Path(folder)
    (folder / THUMBS_DIR).mkdir(parents=True, exist_ok=True)
    index = folder / "index.html"
    if not index.is_file() or index.read_text(encoding="utf-8") != INDEX_HTML:
        _atomic_write(index, INDEX_HTML.encode())
    js = folder / "plotly.min.js"
    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not js.is_file() or js.stat().st_size != src.stat().st_size:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        os.close(fd)
        shutil.copyfile(src, tmp)
        os.replace(tmp, js)
    return folder


def write_thumbnails(folder: str | os.PathLike, thumbs: Mapping[str, bytes]) -> dict[str, str]:
    """Write JPEG thumbnails as ``thumbs/<sha256>.jpg`` under ``folder`` (once each).

    Parameters
    ----------
    thumbs : sha256 (64 lowercase hex digits) -> JPEG bytes; other keys are ignored.

    Returns
    -------
    sha256 -> URL relative to the map page (``thumbs/<sha256>.jpg``).
    """
    out_dir = Path(folder) / THUMBS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    urls = {}
    for sha, data in thumbs.items():
        if not _SHA.fullmatch(sha) or not data:
            continue
        path = out_dir / f"{sha}.jpg"
        if not path.is_file():
            _atomic_write(path, data)
        urls[sha] = f"{THUMBS_DIR}/{sha}.jpg"
    return urls


def figure_json(fig: go.Figure) -> str:
    """The figure as Plotly JSON (numeric arrays as base64 typed arrays), for the map page."""
    return fig.to_json(validate=False, engine="json")
