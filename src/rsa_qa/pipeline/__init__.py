"""Text → passages → vectors: the stages an article goes through before it is indexed.

corpus.py       the corpus folder → one source file per article (.txt, .md, .pdf)
pdf.py          a PDF → plain text with paragraphs
parse.py        text → Document: metadata, sections, paragraphs, references
citations.py    reference lists and in-text markers
document.py     the Document types and the one definition of an article's metadata
chunk.py        Document → passages within the model's window
embed.py        text → unit vectors (torch, ONNX, int8 ONNX; onnx_export.py makes the files)
"""
