"""rsa-qa: retrieval-only question answering over a scientific article."""

__version__ = "0.1.0"

__all__ = ["__version__"]
