"""Export the sentence-transformers model to ONNX, and quantise it to int8, at index time.

    <cache_dir>/onnx/<model fingerprint[:16]>/
      model-onnx-r2.onnx       the transformer in fp32: token embeddings out, pooling done by us
      model-onnx-int8-r2.onnx  the same with int8 weights and int8 activations (see _quantise)

The fp32 graph has each layer's attention fused into one ONNX Runtime operator (_fuse):
as exported, a short question spends a seventh of its time in the small shape operators
around attention, and the fused Attention operator has an int8 form as well.

Only `rsa-qa index` (and so `make index`) writes these; the server reads them and refuses
to start without them, so a query never waits for an export. Files are written to a
temporary name and renamed, so two builds at once cannot leave a half-written model.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rsa_qa.errors import ModelError

ONNX_BACKENDS = ("onnx", "onnx-int8")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
OPSET = 17
# Bumped whenever a backend's recipe changes, so that a cache made by an older version is
# not taken for the new one (the index's fingerprint of the file changes with it).
_REVISION = {"onnx": "-r2", "onnx-int8": "-r2"}
# The feed-forward output products: their inputs, after GELU, have a few large values, so
# one int8 scale for a whole activation (dynamic quantisation) loses the small ones, and
# the cosine to the torch vectors drops to 0.99. A scale per block of this many inputs
# keeps them (cosine ≥ 0.994 to torch, as with these products left in fp32, in half the time).
_BLOCKWISE = re.compile(r"/layer\.\d+/output/dense/")
_BLOCK_SIZE = 128


def export_path(cache_dir: Path, model_fingerprint: str, backend: str) -> Path:
    return cache_dir / "onnx" / model_fingerprint[:16] / f"model-{backend}{_REVISION[backend]}.onnx"


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
    # Eager attention exports as plain products and a softmax, the pattern _fuse recognises.
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager")
    model.eval()

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
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        exported = Path(scratch) / "exported.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            # Tracer notes about the attention mask; the tests check the graph.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                TokenEmbeddings(),
                (example, example, torch.zeros_like(example)),
                str(exported),
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=dict.fromkeys((*INPUT_NAMES, OUTPUT_NAME), axes),
                opset_version=OPSET,
                dynamo=False,
            )
        _fuse(exported, target, model.config)


def _fuse(source: Path, target: Path, config: object) -> None:
    """Embeddings, attention and layer norms fused into ONNX Runtime's BERT operators.

    The result runs on ONNX Runtime only (com.microsoft operators), as everything here
    does. If a future exporter changes the pattern and nothing fuses, the plain graph
    is kept: the same vectors, a little slower (a test checks that fusion happens).
    """
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    heads, hidden = getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)
    with _quiet_root_logger():
        # opt_level 0: the pattern fusions only; ONNX Runtime's graph optimisations, which may
        # depend on the CPU, run when the server loads the model.
        model = optimize_model(
            str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
        )
    fused = model.get_fused_operator_statistics().get("Attention", 0)
    if fused != getattr(config, "num_hidden_layers", fused):
        logging.getLogger(__name__).warning("attention fused in %d layers only: a slower model", fused)
    model.save_model_to_file(str(target))


def _quantise(source: Path, target: Path) -> None:
    """Every matrix product in int8: blockwise where per-tensor scales lose too much, else dynamic.

    Dynamic quantisation (one scale per activation, computed as the model runs) is fastest
    for a short question; MatMulNBits with 8-bit weights and accuracy level 4 quantises
    activations in blocks along the inner dimension and also runs in int8.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    blockwise = [
        node.name
        for node in onnx.load(str(source)).graph.node
        if node.op_type == "MatMul" and _BLOCKWISE.search(node.name)
    ]
    with _quiet_root_logger():
        quantize_dynamic(
            str(source),
            str(target),
            op_types_to_quantize=["MatMul", "Attention"],
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=blockwise,
            # Shape inference knows no types for the fused operators' outputs; they are fp32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        quantiser = MatMulNBitsQuantizer(
            onnx.load(str(target)),
            bits=8,
            block_size=_BLOCK_SIZE,
            is_symmetric=True,
            accuracy_level=4,  # int8 activations, so the products run on int8 instructions
            nodes_to_include=blockwise,
        )
        quantiser.process()
        quantiser.model.save_model_to_file(str(target), use_external_data_format=False)


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's optimiser and quantisers log hints and progress to the root logger."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
