"""The spec phase stays light: no torch, no matplotlib, no Jinja2 unless a spec uses foreach."""
from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import izzyfig.spec
from izzyfig.spec import load_spec_text
load_spec_text("version: 1\\nfigures:\\n  f: {kind: regions}\\n", "a.yaml")
heavy = sorted(m for m in ("torch", "transformers", "matplotlib", "jinja2") if m in sys.modules)
print(",".join(heavy))
"""


def test_import_spec_is_light() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
