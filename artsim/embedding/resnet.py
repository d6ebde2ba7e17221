"""ResNet-50 (torchvision's network, Keras' ImageNet weights by default): 2048-d pooled features.

The classifier is replaced by ``nn.Identity``, so a vector is the global average
pool of the last stage. Weights come from :mod:`artsim.embedding.weights`: by
default Keras' ImageNet weights (ResNet v1, :mod:`artsim.embedding.keras_resnet`),
preprocessed as Keras users do (the whole image squashed to 224x224); a
torchvision state-dict file (v1.5, e.g. IMAGENET1K_V2) gets torchvision's
IMAGENET1K_V2 transform (resize 232, centre crop 224).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from artsim import lazy
from artsim.embedding import keras_resnet
from artsim.embedding.base import make_fingerprint
from artsim.embedding.digest import weights_digest
from artsim.embedding.runtimes.torch_embedder import TorchEmbedder
from artsim.embedding.weights import load_state_dict_file, resolve_resnet50_weights
from artsim.errors import WeightsUnavailable

torch = lazy.load("torch")
torchvision_models = lazy.load("torchvision.models")

#: Bump when the vectors of a file change: :meth:`ResNet50Embedder.preprocess`, or how the
#: pipeline loads the file (``load_max_side``, ``load_draft_side``); it is part of the fingerprint.
PREPROCESS_VERSION = (
    "resnet50-pre-4: JPEG DCT draft to the smallest scale keeping both sides >= 464 (not held at the "
    "8x load cap), then one bilinear antialiased resample "
    "of the centre window to 224x224 (= resize shorter side 232, centre crop 224), ImageNet mean/std"
)
#: The reference path (``reference=True``): torchvision's IMAGENET1K_V2 transform on a full decode.
REFERENCE_VERSION = (
    "resnet50-ref-1: full decode, resize shorter side 232 bilinear antialias, centre crop 224, "
    "ImageNet mean/std (torchvision IMAGENET1K_V2 transforms)"
)
#: ResNet v1 with Keras' weights: the whole image to 224x224, as ``keras.utils.load_img(target_size=(224, 224))``
#: (bilinear antialiased here, Keras' default is nearest), then the caffe input folded into conv1.
KERAS_PREPROCESS_VERSION = (
    "resnet50-v1-keras-pre-1: JPEG DCT draft to the smallest scale keeping both sides >= 448 "
    "(not held at the 8x load cap), then one resize of the whole image to 224x224 bilinear antialiased, "
    "RGB/255 minus caffe means/255, / ImageNet std"
)
KERAS_REFERENCE_VERSION = (
    "resnet50-v1-keras-ref-1: full decode, resize the whole image to 224x224 bilinear antialiased, "
    "RGB/255 minus caffe means/255, / ImageNet std"
)
_HEAD = {"fc.weight", "fc.bias"}
RESIZE, CROP = 232, 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_MEAN_CHW, _STD_CHW = MEAN[:, None, None], STD[:, None, None]
_KERAS_MEAN_CHW = keras_resnet.INPUT_MEAN.astype(np.float32)[:, None, None]


class ResNet50Embedder(TorchEmbedder):
    """torchvision ResNet-50 without its classifier -> ``(n, 2048)`` float32.

    Parameters
    ----------
    weights : path, optional
        A ResNet-50 state-dict file; see :func:`resolve_resnet50_weights` for the fallbacks.
    precision : {"auto", "fp32", "bf16"}
        ``auto``: see :mod:`artsim.embedding.runtimes.backends` (``runtime``, ``runtime_reason``).
    allow_download : bool
        Whether a missing file may be downloaded into torchvision's cache.
    lazy : bool
        Build the network on first embed (default) instead of now. The weights are
        located and fingerprinted now either way (the digest is remembered by
        :mod:`artsim.embedding.digest`); a corrupt file is reported on first use.
    reference : bool
        Decode files in full and run torchvision's transform exactly (its own fingerprint).

    Attributes ``weights_path`` and ``weights_source`` say which file was used.
    """

    name = "resnet50"
    dim = 2048
    freeze_input_size = CROP
    input_side = RESIZE

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        *,
        precision: str = "auto",
        allow_download: bool = True,
        progress: bool = True,
        lazy: bool = True,
        reference: bool = False,
        runtime: str | None = None,
    ) -> None:
        status = resolve_resnet50_weights(weights, allow_download=allow_download, progress=progress)
        super().__init__(precision, runtime)
        self.configure_loading(reference)
        self.weights_path = status.path
        self.weights_source = status.source
        self.weights_digest = weights_digest(status.path)
        #: "v1" (Keras' weights, stride 2 in the first 1x1 conv) or "v1.5" (torchvision's layout).
        self.variant = keras_resnet.weights_variant(status.path)
        if self.variant == "v1":
            self.input_side = CROP
            self.configure_loading(reference)
            version = KERAS_REFERENCE_VERSION if reference else KERAS_PREPROCESS_VERSION
        else:
            version = REFERENCE_VERSION if reference else PREPROCESS_VERSION
        self.fingerprint = make_fingerprint(self.name, self.weights_digest, f"resnet-{self.variant}; {version}")
        if not lazy:
            self.load()

    def _build_model(self):
        path = self.weights_path
        state = load_state_dict_file(path, "ResNet-50")
        model = torchvision_models.resnet50(weights=None)
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
        if self.variant == "v1":
            keras_resnet.set_v1_strides(model)
        model.fc = torch.nn.Identity()
        return model

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """RGB image -> ``(3, 224, 224)`` float32.

        Keras' weights (``variant == "v1"``): the whole image resized to 224x224
        (bilinear, antialiased), ``(rgb / 255 - caffe_mean / 255) / std``.

        A torchvision file (v1.5): torchvision's IMAGENET1K_V2 transform.

        Resize the shorter side to 232 (bilinear, antialiased), centre crop 224,
        ImageNet mean/std. The fast path resamples only the centre window straight
        to 224x224 (Pillow's ``box``), so a long thin image never grows into a huge
        intermediate; pixels differ from resize-then-crop by at most 1/255 in a
        few places. ``reference=True`` resizes then crops, bit-identical to
        ``ResNet50_Weights.IMAGENET1K_V2.transforms()`` (tested). Done with PIL
        and numpy so that decode threads start no torch thread pools.
        """
        if image.mode != "RGB":
            image = image.convert("RGB")
        if self.variant == "v1":
            x = np.asarray(image.resize((CROP, CROP), Image.Resampling.BILINEAR)).transpose(2, 0, 1)
            x = x.astype(np.float32, order="C")
            x /= np.float32(255.0)
            x -= _KERAS_MEAN_CHW
            x /= _STD_CHW
            return x
        w, h = image.size
        new_w, new_h = (RESIZE, int(RESIZE * h / w)) if w <= h else (int(RESIZE * w / h), RESIZE)
        top, left = int(round((new_h - CROP) / 2.0)), int(round((new_w - CROP) / 2.0))
        if self.reference:
            if min(w, h) != RESIZE:
                image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
            crop = image.crop((left, top, left + CROP, top + CROP))
        else:
            sx, sy = w / new_w, h / new_h
            box = (left * sx, top * sy, (left + CROP) * sx, (top + CROP) * sy)
            crop = image.resize((CROP, CROP), Image.Resampling.BILINEAR, box=box)
        # transpose the uint8 crop, then the same float32 ops in place (half the time, same bits)
        x = np.asarray(crop).transpose(2, 0, 1).astype(np.float32, order="C")
        x /= np.float32(255.0)
        x -= _MEAN_CHW
        x /= _STD_CHW
        return x


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
