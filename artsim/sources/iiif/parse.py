"""Read IIIF Presentation 2 and 3 documents as plain JSON: the paintings a manifest holds.

Pure functions over parsed JSON, no network. A manifest becomes one
:class:`Painting` per canvas that paints an image, or one :class:`Problem` per
canvas that cannot be used (audio/video, no image), so that one bad canvas never
hides the others.

Presentation 3: ``items`` (Canvas) -> ``items`` (AnnotationPage) -> ``items``
(Annotation, ``motivation: painting``) -> ``body`` (Image, or Choice of Images).
Presentation 2: ``sequences[0].canvases`` -> ``images`` (``sc:painting``) ->
``resource`` (``dctypes:Image``, or ``oa:Choice`` with ``default``/``item``).

Labels and values are language maps (v3), strings, or ``@value`` objects (v2);
:func:`text` turns any of them into plain text (HTML tags dropped, entities
decoded) so that nothing from a manifest is ever rendered as markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

IMAGE_SIDE = 512
"""Images are requested fitted in IMAGE_SIDE x IMAGE_SIDE: the models read 224-232 px, the app's
thumbnails 160 px, and 512 px keeps a little room for crops (a full museum scan is 10-100 MB)."""

ARTIST_LABELS = ("artist", "creator", "painter", "author", "maker", "attributed to")
DATE_LABELS = ("date", "year", "date created", "created", "dated", "creation date")
_TAG = re.compile(r"<[^>]*>")
_LIFE_DATES = re.compile(
    r"(\s*\(\s*(c\.\s*)?\d{3,4}\s*[-–]\s*(\d{3,4})?\s*\)|,\s*\d{3,4}\s*[-–]\s*\d{0,4})\s*$"
)
_NON_IMAGE = {"Sound", "Audio", "Video", "Text", "Model", "dctypes:Sound", "dctypes:Video", "dctypes:Text"}


@dataclass(frozen=True)
class Painting:
    """One canvas's image: where to get it at model size, and what the manifest says of it."""

    manifest_id: str
    canvas_id: str
    image_url: str
    artist: str
    title: str
    year: str
    license: str
    museum: str
    notes: tuple[str, ...] = ()
    """What was chosen or missing (first of a choice, no artist, no Image service...)."""


@dataclass(frozen=True)
class Problem:
    """A canvas (or a whole document) that gave no painting, and why."""

    where: str
    reason: str


def ident(obj: object) -> str:
    """``id`` (v3) or ``@id`` (v2) of a JSON object, else ''."""
    if isinstance(obj, dict):
        value = obj.get("id") or obj.get("@id") or ""
        return value if isinstance(value, str) else ""
    return obj if isinstance(obj, str) else ""


def kind(obj: object) -> str:
    """The resource type without its v2 prefix: ``Manifest``, ``Collection``, ``Canvas``, ``Image``..."""
    if not isinstance(obj, dict):
        return ""
    value = obj.get("type") or obj.get("@type") or ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).split(":")[-1]


def version(doc: dict) -> int:
    """3 for Presentation 3, else 2 (from ``@context``; v3 ``type`` keys as a fallback)."""
    context = doc.get("@context", "")
    contexts = context if isinstance(context, list) else [context]
    if any(isinstance(c, str) and "presentation/3" in c for c in contexts):
        return 3
    if any(isinstance(c, str) and "presentation/2" in c for c in contexts):
        return 2
    return 3 if "type" in doc else 2


def text(value: object, languages: tuple[str, ...] = ("en", "none")) -> str:
    """Plain text of a label or value in any IIIF form; ``languages`` are preferred in order."""
    if value is None:
        return ""
    if isinstance(value, str):
        return " ".join(html.unescape(_TAG.sub(" ", value)).split())
    if isinstance(value, list):
        if value and all(isinstance(v, dict) and "@value" in v for v in value):  # v2 language list
            chosen = [v for v in value if v.get("@language") in languages] or value[:1]
            return "; ".join(text(v.get("@value")) for v in chosen)
        return "; ".join(t for t in (text(v, languages) for v in value) if t)
    if isinstance(value, dict):
        if "@value" in value:
            return text(value["@value"])
        for lang in (*languages, *value.keys()):
            if lang in value:
                return text(value[lang], languages)
    return ""


def metadata(doc: dict) -> dict[str, str]:
    """``metadata`` pairs as ``{lower-case label: text}`` (first value wins)."""
    out: dict[str, str] = {}
    entries = doc.get("metadata")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            label = text(entry.get("label")).lower().rstrip(":").strip()
            if label and label not in out:
                out[label] = text(entry.get("value"))
    return out


def _first(meta: dict[str, str], labels: tuple[str, ...]) -> str:
    return next((meta[label] for label in labels if meta.get(label)), "")


def artist_name(value: str) -> str:
    """``Winslow Homer (1836–1910)`` or ``Glindoni, Henry Gillard, 1852-1913`` without the life dates."""
    return _LIFE_DATES.sub("", value).strip(" ,;") or value


def children(doc: dict) -> list[dict]:
    """Manifests and collections a collection lists (v3 ``items``; v2 ``manifests``, ``collections``, ``members``)."""
    found: list[dict] = []
    for key in ("items", "manifests", "collections", "members"):
        values = doc.get(key)
        for item in values if isinstance(values, list) else []:
            if isinstance(item, dict) and kind(item) in ("Manifest", "Collection") and ident(item):
                found.append(item)
    return found


def canvases(doc: dict) -> list[dict]:
    """The manifest's canvases (v3 ``items``; v2 ``sequences[0].canvases``)."""
    if version(doc) == 3:
        items = doc.get("items")
    else:
        sequences = doc.get("sequences")
        first = (
            sequences[0]
            if isinstance(sequences, list) and sequences and isinstance(sequences[0], dict)
            else {}
        )
        items = first.get("canvases")
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def _painted(canvas: dict) -> list[dict]:
    """Bodies of the canvas's painting annotations (v3 ``body``, v2 ``resource``)."""
    bodies: list[dict] = []
    for page in canvas.get("items") or []:  # v3
        for anno in (page.get("items") or []) if isinstance(page, dict) else []:
            if isinstance(anno, dict) and anno.get("motivation") in ("painting", None):
                body = anno.get("body")
                bodies.extend(b for b in (body if isinstance(body, list) else [body]) if isinstance(b, dict))
    for anno in canvas.get("images") or []:  # v2
        if isinstance(anno, dict) and isinstance(anno.get("resource"), dict):
            bodies.append(anno["resource"])
    return bodies


def _is_image(body: dict) -> bool:
    """An Image or a Choice; an untyped body counts when it has an image format or an Image service."""
    if kind(body) in ("Image", "Choice"):
        return True
    fmt = body.get("format")
    return not kind(body) and ((isinstance(fmt, str) and fmt.startswith("image/")) or "service" in body)


def _choose(body: dict, notes: list[str]) -> dict | None:
    """The image of a body; for a Choice the first (v3 ``items[0]``, v2 ``default``), noted."""
    if kind(body) != "Choice":
        return body
    options = [
        o
        for o in ([body.get("default")] + list(body.get("item") or []) + list(body.get("items") or []))
        if isinstance(o, dict)
    ]
    if not options:
        return None
    label = text(options[0].get("label"))
    notes.append(f"choice of {len(options)} images: took the first" + (f" ({label})" if label else ""))
    return options[0]


def image_request(image: dict, side: int = IMAGE_SIDE) -> tuple[str, str | None]:
    """URL of ``image`` fitted in ``side`` px through its Image service, or its own URL and a note.

    Image API 2 and 3 both read ``{service}/full/!w,h/0/default.jpg``; 1.x says ``native``.
    """
    services = image.get("service")
    for service in services if isinstance(services, list) else [services]:
        sid = ident(service)
        if not sid or not isinstance(service, dict):
            continue
        blob = f"{service.get('type', '')} {service.get('@type', '')} {service.get('@context', '')} {service.get('profile', '')}"
        if "ImageService" in blob or "iiif.io/api/image" in blob:
            quality = "native" if ("image/1" in blob or "ImageService1" in blob) else "default"
            return f"{sid.rstrip('/')}/full/!{side},{side}/0/{quality}.jpg", None
    return ident(image), "no IIIF Image service: downloaded the image file as published"


def paintings(doc: dict, side: int = IMAGE_SIDE) -> tuple[list[Painting], list[Problem]]:
    """Every canvas of a manifest as a :class:`Painting` or a :class:`Problem`."""
    manifest_id = ident(doc)
    meta = metadata(doc)
    title = text(doc.get("label"))
    artist = artist_name(_first(meta, ARTIST_LABELS))
    year = _first(meta, DATE_LABELS)
    rights = doc.get("rights") or doc.get("license") or ""
    license_ = rights if isinstance(rights, str) else text(rights)
    license_ = (
        license_ or text((doc.get("requiredStatement") or {}).get("value")) or text(doc.get("attribution"))
    )
    providers = doc.get("provider")
    museum = (
        text(providers[0].get("label"))
        if isinstance(providers, list) and providers and isinstance(providers[0], dict)
        else ""
    )
    found: list[Painting] = []
    problems: list[Problem] = []
    all_canvases = canvases(doc)
    if not all_canvases:
        return [], [Problem(manifest_id, "manifest has no canvases")]
    for canvas in all_canvases:
        canvas_id = ident(canvas) or f"{manifest_id}#canvas{len(found) + len(problems) + 1}"
        notes: list[str] = []
        bodies = _painted(canvas)
        images = [b for b in bodies if _is_image(b)]
        if not images:
            kinds = sorted(
                {kind(b) for b in bodies if kind(b)} | ({"timed media"} if canvas.get("duration") else set())
            )
            what = ", ".join(kinds) if kinds else "nothing"
            problems.append(Problem(canvas_id, f"canvas paints {what}, not an image"))
            continue
        if len(images) > 1:
            notes.append(f"composite of {len(images)} images: took the first")
        image = _choose(images[0], notes)
        url, note = image_request(image, side) if image else ("", None)
        if not url:
            problems.append(Problem(canvas_id, "image has no URL or Image service"))
            continue
        if note:
            notes.append(note)
        c_meta = {**meta, **metadata(canvas)}
        c_title = title
        if len(all_canvases) > 1:
            c_title = " - ".join(t for t in (title, text(canvas.get("label"))) if t)
        if not artist and not _first(c_meta, ARTIST_LABELS):
            notes.append("no artist in the metadata")
        found.append(
            Painting(
                manifest_id=manifest_id,
                canvas_id=canvas_id,
                image_url=url,
                artist=artist or artist_name(_first(c_meta, ARTIST_LABELS)),
                title=c_title or text(canvas.get("label")),
                year=year or _first(c_meta, DATE_LABELS),
                license=license_,
                museum=museum,
                notes=tuple(notes),
            )
        )
    return found, problems
