"""nncli: train small neural networks from YAML configs on an engine written in NumPy alone."""

__version__ = "0.1.0"
