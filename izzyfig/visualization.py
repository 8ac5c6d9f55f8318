"""IzzyViz's module path: ``from izzyviz.visualization import X`` -> ``from izzyfig.visualization import X``."""
from izzyfig.api import *  # noqa: F401,F403  (re-exported names)
from izzyfig.api import __all__  # noqa: F401
