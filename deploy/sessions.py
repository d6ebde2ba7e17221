"""A Streamlit session driven over its websocket protocol, as a browser's first visit does (no browser).

The browser opens ``/_stcore/stream`` (subprotocol ``streamlit``) and sends one
``BackMsg`` with ``rerun_script``: a ``ClientState`` naming the page
(``page_name`` = the page's URL path, '' for the default page), the URL's query
string and the browser's context. The server answers with ``ForwardMsg``s:
``new_session``, the page's deltas, and ``script_finished``. :func:`first_view`
times that exchange; the load check (``benchmarks/class_load.py``) and the
deployment test (``tests/test_deploy.py``) use it. Loopback use only.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

#: Header the proxy adds naming the replica that answered (``deploy.proxy.REPLICA_HEADER``).
REPLICA_HEADER = "X-Artsim-Replica"


@dataclass
class View:
    """What one first view took and showed."""

    page: str
    seconds: float = float("nan")
    ok: bool = False
    error: str = ""
    replica: str = ""
    texts: list[str] = field(default_factory=list)
    received_bytes: int = 0


def _texts(msg: ForwardMsg) -> list[str]:
    """Visible strings of a delta (text, markdown, captions, titles, alerts, exceptions)."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return []
    el = msg.delta.new_element
    kind = el.WhichOneof("type")
    if kind == "exception":
        return [f"EXCEPTION {el.exception.type}: {el.exception.message}"]
    inner = getattr(el, kind) if kind else None
    for name in ("body", "label", "value"):
        value = getattr(inner, name, None)
        if isinstance(value, str) and value:
            return [value]
    return []


async def first_view(
    ws_url: str,
    page: str = "",
    query: str = "",
    *,
    cookie: str = "",
    timeout: float = 120.0,
    collect_texts: bool = False,
    hold_s: float = 0.0,
) -> View:
    """Open a session at ``ws_url`` (``ws://host:port/_stcore/stream``), run ``page`` once, time it.

    ``seconds`` runs from the connection attempt to ``script_finished``; ``ok`` is
    True when the run finished successfully with no exception shown. With
    ``hold_s`` the session stays open that long afterwards (an idle student).
    """
    view = View(page=page)
    start = time.perf_counter()
    headers = {"Cookie": cookie} if cookie else None
    try:
        async with asyncio.timeout(timeout + hold_s):
            async with websockets.connect(ws_url, subprotocols=["streamlit"], additional_headers=headers,
                                          max_size=None, open_timeout=timeout, ping_interval=None) as ws:
                view.replica = ws.response.headers.get(REPLICA_HEADER, "")
                host = ws_url.split("//", 1)[1].split("/", 1)[0]
                url = f"http://{host}/{page}" + (f"?{query}" if query else "")
                back = BackMsg(rerun_script=ClientState(
                    query_string=query, page_name=page,
                    context_info=ContextInfo(timezone="UTC", timezone_offset=0, locale="en-US", url=url),
                ))
                await ws.send(back.SerializeToString())
                async for data in ws:
                    view.received_bytes += len(data)
                    msg = ForwardMsg()
                    msg.ParseFromString(data)
                    texts = _texts(msg)
                    if any(t.startswith("EXCEPTION") for t in texts):
                        view.error = texts[0][:300]
                    if collect_texts:
                        view.texts.extend(texts)
                    if msg.WhichOneof("type") == "script_finished":
                        if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                            continue
                        view.seconds = time.perf_counter() - start
                        view.ok = msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY and not view.error
                        if not view.ok and not view.error:
                            view.error = f"script_finished status {msg.script_finished}"
                        break
                if hold_s:
                    await asyncio.sleep(hold_s)
    except Exception as exc:  # a load check counts every failure as an error
        view.error = view.error or f"{type(exc).__name__}: {exc}"[:300]
        view.ok = False
    if view.error:
        view.ok = False
    return view
