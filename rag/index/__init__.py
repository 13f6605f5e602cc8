"""Vectors on disk: `encoders` turns texts into unit vectors (sentence-transformers, or its verified ONNX
export without torch, and which of the two), `store.Index` holds documents, their vectors,
their summaries' sentence vectors and BM25 index and searches them through the interfaces of `backend`
(`faiss_vectors` over `ann`, the one door to FAISS; `sentence_vectors`; `keyword`, the one door to bm25s; and
`delta`, `keyword_delta` for an index with a delta segment), `schema` owns documents.sqlite and reads the older
formats, `layout` reads and saves an index folder, `manifest` says what an index was built from (and whether it
still matches), `versions` keeps saves crash safe, `build` brings an index up to date with a corpus in named
steps (`plan`, `chunks`, `assemble`, `report`; `segments`: as a delta, when the change is small), `opening` opens
one to serve questions."""
