"""Which gallery artsim shows, and its name for people.

In order:

1. ``ARTSIM_GALLERY``, a folder the person running artsim chose;
2. the self-portrait gallery, once fetched into ``$ARTSIM_HOME/gallery``
   (``artsim gallery fetch``; ``make run`` tries it first, so a machine that can
   reach the museums gets it on its first start);
3. else the demo gallery bundled in ``data/demo-gallery``: 45 public-domain
   paintings by 11 artists, downsized (``data/build_demo_gallery.py``), so that a
   machine without the internet still starts on paintings.

A gallery is named by what it is and holds ("Demo gallery: 45 paintings, 11 artists"),
never by a folder path of the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from artsim import config
from artsim.inputs.collection import METADATA_FILE

__all__ = ["DEMO_DIR", "FETCH_HINT", "Gallery", "choose_gallery"]

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo-gallery"
"""The bundled demo gallery (``data/demo-gallery`` of the source tree, beside ``data/gallery.csv``)."""
FETCH_HINT = "for the self-portrait gallery, run `artsim gallery fetch` once with internet access, then restart"

Kind = Literal["folder", "self-portraits", "demo"]
_TITLES = {"self-portraits": "Self-portrait gallery", "demo": "Demo gallery"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


@dataclass(frozen=True)
class Gallery:
    """The gallery to show: its ``folder`` and which of the three it is (``kind``)."""

    folder: Path
    kind: Kind

    def name(self, paintings: int, artists: int) -> str:
        """The gallery as people call it, with its counts: ``Demo gallery: 45 paintings, 11 artists``.

        A chosen folder is named by its last part only (``Folder “paintings”``).
        """
        title = _TITLES.get(self.kind) or f"Folder “{self.folder.name}”"
        return f"{title}: {_plural(paintings, 'painting')}, {_plural(artists, 'artist')}"

    def shown_path(self, path: str) -> str:
        """``path`` as people may see it: relative to the gallery folder, else only its file name."""
        try:
            return Path(path).relative_to(self.folder).as_posix()
        except ValueError:
            return Path(path).name

    def note(self) -> str:
        """One line on where this gallery comes from, and how to get the self-portraits when it is the demo."""
        if self.kind == "demo":
            return f"This is the demo gallery bundled with artsim; {FETCH_HINT}."
        if self.kind == "self-portraits":
            return "The self-portrait gallery, fetched by `artsim gallery fetch`."
        return "The folder named by ARTSIM_GALLERY."


def choose_gallery() -> Gallery:
    """``ARTSIM_GALLERY``, else the fetched self-portrait gallery, else the bundled demo gallery.

    The self-portrait gallery counts as fetched once a fetch has written its
    ``metadata.csv`` (it does so as soon as one painting is in).
    """
    folder = config.gallery_dir()
    if os.environ.get("ARTSIM_GALLERY"):
        return Gallery(folder, "folder")
    if (folder / METADATA_FILE).is_file():
        return Gallery(folder, "self-portraits")
    return Gallery(DEMO_DIR, "demo")
