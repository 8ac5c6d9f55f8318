"""izzyfig: a declarative figure compiler for transformer attention."""
__version__ = "0.1.0"
