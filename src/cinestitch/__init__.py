"""cinestitch: build long videos from short generated clips, like `make` for films."""

__version__ = "0.1.0"
