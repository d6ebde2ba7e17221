"""How a model runs on this machine: the runtimes, their measurement and the cached choice.

:mod:`~artsim.embedding.runtimes.backends` names the runtimes (torch eager and
frozen fp32, the frozen bf16 graph, ONNX Runtime fp32, CUDA) and holds the
machine facts (CPU flags, threads, GPU) and the ONNX export;
:mod:`~artsim.embedding.runtimes.torch_embedder` runs a torch model on the chosen
one (:mod:`~artsim.embedding.runtimes.bf16_graph` freezes the TorchScript graphs);
:mod:`~artsim.embedding.runtimes.calibrate` times every faithful runtime on this
machine and :mod:`~artsim.embedding.runtimes.choice` keeps the fastest, keyed by
CPU, threads and library versions. A CPU flag is never taken as a speed.

Imports: the top level and :mod:`artsim.embedding.base`; torch and onnxruntime
lazily. Imported by the models in :mod:`artsim.embedding`.

Submodules are attached lazily (SPEC 1).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__, submodules=["backends", "bf16_graph", "calibrate", "choice", "torch_embedder"]
)
