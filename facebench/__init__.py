"""facebench: enhancer x detector benchmarks on dark, JPEG-compressed face images."""

__version__ = "0.1.0"
