"""edgekit: edge deployment SDK."""
__version__ = "0.1.0"
