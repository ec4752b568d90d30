"""The index artefact: build it from the corpus, load it checked, and its vector and BM25 indexes.

build.py         corpus → a new index directory, swapped into place
load.py          an index directory → LoadedIndex, every file checked
manifest.py      what an index was built from; is it still fresh?
records.py       the directory's files and how passages and documents are stored
vector_index.py  FAISS: flat, HNSW or IVF by size
lexical.py       BM25 weights, scored in full or for candidates
"""
