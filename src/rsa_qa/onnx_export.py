"""Export the sentence-transformers model to ONNX, and quantise it to int8, at index time.

    <cache_dir>/onnx/<model fingerprint[:16]>/
      model-onnx.onnx        the transformer in fp32: token embeddings out, pooling done by us
      model-onnx-int8.onnx   the same with int8 weights and dynamically quantised activations

Only `rsa-qa index` (and so `make index`) writes these; the server reads them and refuses
to start without them, so a query never waits for an export. Files are written to a
temporary name and renamed, so two builds at once cannot leave a half-written model.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

from rsa_qa.errors import ModelError

ONNX_BACKENDS = ("onnx", "onnx-int8")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
OPSET = 17
# Matrix products left in fp32. Quantising all of them drops the cosine to the torch
# vectors to 0.98 on some passages and costs dev hit@1; the first layer and the
# feed-forward outputs are the sensitive ones. Without them quantised, every passage stays
# above 0.99 and `make eval`'s hit@1 is unchanged.
_KEEP_FP32 = re.compile(r"/layer\.0/|/layer\.\d+/output/dense/")


def export_path(cache_dir: Path, model_fingerprint: str, backend: str) -> Path:
    return cache_dir / "onnx" / model_fingerprint[:16] / f"model-{backend}.onnx"


def ensure_export(model_path: Path, cache_dir: Path, model_fingerprint: str, backend: str) -> Path:
    """The ONNX file for backend, exported (and quantised) first if it is not there yet."""
    if backend not in ONNX_BACKENDS:
        raise ValueError(f"not an ONNX backend: {backend}")
    target = export_path(cache_dir, model_fingerprint, backend)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if backend == "onnx":
        _atomic_write(target, lambda tmp: _export_fp32(model_path, tmp))
    else:
        fp32 = ensure_export(model_path, cache_dir, model_fingerprint, "onnx")
        _atomic_write(target, lambda tmp: _quantise(fp32, tmp))
    return target


def _atomic_write(target: Path, write) -> None:  # type: ignore[no-untyped-def]
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        temporary.replace(target)
    except Exception as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"cannot export the model to ONNX ({exc}); see the log") from exc


def _export_fp32(model_path: Path, target: Path) -> None:
    import torch
    import transformers
    from transformers import AutoModel

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    example = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about the attention mask; the graph is checked below
        torch.onnx.export(
            TokenEmbeddings(),
            (example, example, torch.zeros_like(example)),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dict.fromkeys((*INPUT_NAMES, OUTPUT_NAME), axes),
            opset_version=OPSET,
            dynamo=False,
        )


def _quantise(source: Path, target: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = [
        node.name
        for node in onnx.load(str(source)).graph.node
        if node.op_type == "MatMul" and _KEEP_FP32.search(node.name)
    ]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint to the root logger
    try:
        quantize_dynamic(
            str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep
        )
    finally:
        root.setLevel(level)
