"""ResNet-50 (torchvision, ImageNet IMAGENET1K_V2 weights): 2048-d pooled features.

The classifier is replaced by ``nn.Identity``, so a vector is the global average
pool of the last stage. Weights come from :mod:`artsim.embedding.weights`.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from artsim.embedding.base import TorchEmbedder, make_fingerprint
from artsim.embedding.weights import load_state_dict_file, resolve_resnet50_weights
from artsim.errors import WeightsUnavailable
from artsim.files import sha256_file

#: Bump when the vectors of a file change: :meth:`ResNet50Embedder.preprocess`, or how the
#: pipeline loads the file (``load_max_side``, ``load_resample``); it is part of the fingerprint.
PREPROCESS_VERSION = (
    "resnet50-pre-2: load_image max_side 232 (JPEG draft >= 232, then bilinear antialias to "
    "shorter side 232), center crop 224, ImageNet mean/std"
)
_HEAD = {"fc.weight", "fc.bias"}
RESIZE, CROP = 232, 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_MEAN_CHW, _STD_CHW = MEAN[:, None, None], STD[:, None, None]


class ResNet50Embedder(TorchEmbedder):
    """torchvision ResNet-50 without its classifier -> ``(n, 2048)`` float32.

    Parameters
    ----------
    weights : path, optional
        A ResNet-50 state-dict file; see :func:`resolve_resnet50_weights` for the fallbacks.
    precision : {"auto", "fp32", "bf16"}
        ``auto`` = bf16 only where the hardware computes it natively.
    allow_download : bool
        Whether a missing file may be downloaded into torchvision's cache.
    lazy : bool
        Build the network on first use instead of now (weights are still located
        and fingerprinted now; a corrupt file is then reported on first use).

    Attributes ``weights_path`` and ``weights_source`` say which file was used.
    """

    name = "resnet50"
    dim = 2048
    freeze_input_size = CROP
    #: The pipeline loads images at this shorter side (JPEG draft mode, then ``load_resample``,
    #: the bilinear filter of torchvision's transform), so :meth:`preprocess` only crops: one
    #: resampling per image instead of two. Both are part of :data:`PREPROCESS_VERSION`:
    #: changing either changes the vectors.
    load_max_side = RESIZE
    load_resample = Image.Resampling.BILINEAR

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        *,
        precision: str = "auto",
        allow_download: bool = True,
        progress: bool = True,
        lazy: bool = False,
    ) -> None:
        status = resolve_resnet50_weights(weights, allow_download=allow_download, progress=progress)
        super().__init__(precision)
        self.weights_path = status.path
        self.weights_source = status.source
        self.fingerprint = make_fingerprint(self.name, sha256_file(status.path), PREPROCESS_VERSION)
        if not lazy:
            self.load()

    def _build_model(self):
        import torch  # after resolving: a missing file is reported without the slow imports
        from torchvision.models import resnet50

        path = self.weights_path
        state = load_state_dict_file(path, "ResNet-50")
        model = resnet50(weights=None)
        try:
            result = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatches
            raise WeightsUnavailable(f"{path} is not a ResNet-50 state dict: {_short(exc)}") from exc
        missing = set(result.missing_keys) - _HEAD
        if missing or result.unexpected_keys:
            bad = sorted(missing)[:3] + sorted(result.unexpected_keys)[:3]
            raise WeightsUnavailable(
                f"{path} is not a ResNet-50 state dict: {len(missing)} missing and "
                f"{len(result.unexpected_keys)} unexpected keys (e.g. {', '.join(bad)})"
            )
        model.fc = torch.nn.Identity()
        return model

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """RGB image -> ``(3, 224, 224)`` float32: torchvision's IMAGENET1K_V2 transform.

        Done with PIL and numpy (bit-identical to ``ResNet50_Weights.IMAGENET1K_V2.transforms()``,
        which a test checks) so that decode threads start no torch thread pools that
        compete with the model for the CPU.
        """
        image = image.convert("RGB")
        w, h = image.size
        short, long = min(w, h), max(w, h)
        if short != RESIZE:
            new_long = int(RESIZE * long / short)
            image = image.resize((RESIZE, new_long) if w <= h else (new_long, RESIZE), Image.Resampling.BILINEAR)
        w, h = image.size
        top, left = int(round((h - CROP) / 2.0)), int(round((w - CROP) / 2.0))
        # transpose the uint8 crop, then the same float32 ops in place (half the time, same bits)
        x = np.asarray(image.crop((left, top, left + CROP, top + CROP))).transpose(2, 0, 1).astype(np.float32, order="C")
        x /= np.float32(255.0)
        x -= _MEAN_CHW
        x /= _STD_CHW
        return x


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
