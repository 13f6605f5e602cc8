"""Vectors on disk: `encoders` turns texts into unit vectors (sentence-transformers, or its verified ONNX
export without torch, and which of the two), `store.Index` holds documents, their vectors,
their summaries' sentence vectors and BM25 index and searches them, `ann` is the one door to FAISS, `keyword`
the one door to bm25s, `manifest` says what an index was built from (and whether it still matches),
`versions` keeps saves crash safe, `build` brings an index up to date with a corpus."""
