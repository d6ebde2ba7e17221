"""Issue 24.3: the artist and cluster palettes survive colour blindness and read on white.

Colour-vision deficiency is simulated with Machado, Oliveira & Fernandes (2009), "A
Physiologically-based Model for Simulation of Color Vision Deficiency", IEEE TVCG 15(6),
at full severity (their matrices for severity 1.0, applied to linear sRGB); differences
are CIEDE2000 (scikit-image) in CIELAB under D65.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from artsim.figures.colors import (
    ABOVE_CUT_COLOR,
    ARTIST_PALETTE,
    CLUSTER_PALETTE,
    CLUSTER_SYMBOLS,
    artist_colors,
    cluster_color,
    cluster_symbol,
    contrast_ratio,
)

MACHADO_2009 = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
VISIONS = ("normal", *MACHADO_2009)
#: ../shared/gallery's artists (the issue's measurement).
GALLERY_ARTISTS = ("Claude Monet", "Edgar Degas", "Edvard Munch", "Egon Schiele", "Georges Seurat", "Gustav Klimt",
                   "Henri de Toulouse-Lautrec", "Paul Gauguin", "Pierre-Auguste Renoir", "Vincent van Gogh",
                   "Wassily Kandinsky")


def _rgb(colors) -> np.ndarray:
    """(n, 3) sRGB in [0, 1]."""
    return np.array([[int(c.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)] for c in colors]) / 255.0


def simulate(rgb: np.ndarray, vision: str) -> np.ndarray:
    """(n, 3) sRGB as seen with ``vision`` (Machado 2009 on linear RGB, clipped to the gamut)."""
    if vision == "normal":
        return rgb
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ np.array(MACHADO_2009[vision]).T, 0.0, 1.0)
    return np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055)


def closest_pair(colors, vision: str) -> tuple[float, tuple[str, str]]:
    """The smallest CIEDE2000 between two of ``colors`` as seen with ``vision``, and the pair."""
    lab = rgb2lab(simulate(_rgb(colors), vision)[None])[0]
    d = deltaE_ciede2000(lab[:, None, :], lab[None, :, :])
    d[np.diag_indices(len(colors))] = np.inf
    i, j = np.unravel_index(np.argmin(d), d.shape)
    return float(d[i, j]), (colors[i], colors[j])


def test_the_simulation_reproduces_the_issues_measurement_of_the_old_palette():
    """The issue measured the old tab10/tab20 artist colours of ../shared/gallery's 11 artists at
    ΔE 1.9 (protanopia) and 4.1 (deuteranopia), and Plotly's cluster colours at 0.7: same maths here."""
    old_artists = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                   "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
                   "#dbdb8d", "#9edae5", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")
    colors = list(artist_colors(GALLERY_ARTISTS, old_artists).values())
    assert round(closest_pair(colors, "protanopia")[0], 1) == 1.9
    assert round(closest_pair(colors, "deuteranopia")[0], 1) == 4.1
    plotly10 = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
                "#FF97FF", "#FECB52"]
    assert round(closest_pair(plotly10, "protanopia")[0], 1) == 0.7
    # a simulation that changes nothing would pass the palette tests below: it does change colours
    assert np.abs(simulate(_rgb(["#ff0000"]), "protanopia") - _rgb(["#ff0000"])).max() > 0.5


@pytest.mark.parametrize("vision", VISIONS)
def test_artist_palette_closest_pair_is_at_least_10(vision):
    assert closest_pair(list(ARTIST_PALETTE), vision)[0] >= 10


@pytest.mark.parametrize("vision", VISIONS)
def test_cluster_palette_and_the_above_cut_grey_closest_pair_is_at_least_10(vision):
    assert closest_pair([*CLUSTER_PALETTE, ABOVE_CUT_COLOR], vision)[0] >= 10


def test_every_mark_colour_has_3_to_1_contrast_on_white():
    low = {c: round(contrast_ratio(c), 2) for c in (*ARTIST_PALETTE, *CLUSTER_PALETTE, ABOVE_CUT_COLOR)
           if contrast_ratio(c) < 3}
    assert not low


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio("#000000") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # the lightest grey passing AA
    assert contrast_ratio("#828180") == pytest.approx(3.88, abs=0.01)  # the issue's caption grey


def test_clusters_differ_by_colour_or_symbol_up_to_50():
    cues = {(cluster_color(c), cluster_symbol(c)) for c in range(50)}
    assert len(cues) == 50 and "diamond" not in CLUSTER_SYMBOLS  # diamonds mark uploads


def test_the_gallerys_eleven_artists_keep_distinct_colours():
    colors = artist_colors(GALLERY_ARTISTS)
    assert len(set(colors.values())) == len(GALLERY_ARTISTS)
    # the collection's colours, whatever the selection: a later artist never moves an earlier one
    assert artist_colors([*GALLERY_ARTISTS, "Dee Yellow"])["Claude Monet"] == colors["Claude Monet"]
