"""pressmon: nightly monitoring of Chinese government press releases."""

__version__ = "0.1.0"
