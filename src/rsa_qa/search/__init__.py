"""Question → ranked hits: fused dense and lexical scores, highlights, the scope verdict.

searcher.py   Searcher: scores, ranks, filters and highlights passages of a LoadedIndex
scope.py      is the question one the corpus answers?
encoding.py   question → vector for a server: cached, batched on model threads (batching.py)
"""
