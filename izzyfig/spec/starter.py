"""The commented starter spec that ``izzyfig init`` writes, with the schema it names."""
from __future__ import annotations

import os
from pathlib import Path

from izzyfig.errors import IzzyfigError

STARTER = """\
# yaml-language-server: $schema={schema}
#
# An izzyfig spec. Every entry under 'figures' becomes one figure file (PDF by default).
#   izzyfig validate specs/   checks every spec and points at each mistake (file:line:col)
#   izzyfig build specs/      builds the figures
version: 1

# Keys applied to every figure whose kind accepts them; a figure's own value wins.
# A figure that names its own source (model, array, runs or steps) takes none of
# the default source keys.
defaults:
  model: minilm            # a model alias, a local model directory, or a cached hub id
  text: "The cat sat on the mat because it was tired."
  cmap: Blues              # any matplotlib colormap
  gamma: 1.5               # colour scale exponent (> 0)

figures:
  # One attention map: layer 0, head 0, with the three strongest cells enlarged.
  cat-sat:
    kind: self-attention   # or question-context, cross-attention, comparison,
                           # stability, evolution, regions
    layer: 0               # negative indices count from the end
    head: 0
    top_n: 3
    title: "MiniLM, layer 0, head 0"
    boxes:
      - rows: [1, 3]       # attending tokens 1..3 (inclusive) ...
        cols: [5, 6]       # ... attending to tokens 5..6
      - tokens: [it, tired]  # or a box from one token to another
    caption: "Self-attention of MiniLM in layer 0, head 0."

  # The key regions of one head, found automatically.
  cat-regions:
    kind: regions
    layer: -1
    head: 3
    n_regions: 3

  # 'foreach' makes one figure per value: cat-head0, cat-head1, cat-head2, cat-head3.
  # The id and the string values are templates; "{{{{head}}}}" alone keeps the number.
  cat-head{{{{head}}}}:
    kind: self-attention
    foreach:
      head: {{range: [0, 4]}}
    layer: 5
    head: "{{{{head}}}}"
    title: "MiniLM, layer 5, head {{{{head}}}}"
"""


def starter_spec(schema: str = "../schemas/izzyfig.schema.json") -> str:
    """The starter spec text; ``schema`` is the schema path written in its modeline."""
    return STARTER.format(schema=schema)


def write_starter(path: Path, schema_path: Path) -> list[str]:
    """Write the starter spec at ``path`` and, if missing, the JSON Schema at ``schema_path``.

    The spec's modeline names the schema relative to the spec's directory, as editors
    resolve it. An existing spec is never overwritten; an existing schema is left as it
    is (``izzyfig schema`` regenerates it). Returns what was done, one line each.

    Raises
    ------
    IzzyfigError
        ``path`` already exists.
    """
    from izzyfig.spec.schema import schema_text, write_schema

    if path.exists():
        raise IzzyfigError(f"{path} already exists; not overwriting it")
    done = []
    if not schema_path.exists():
        write_schema(schema_path)
        done.append(f"wrote {schema_path}")
    elif schema_path.read_bytes() != schema_text().encode("utf-8"):
        done.append(f"left {schema_path} as it is (it differs from this izzyfig's schema; "
                    "`izzyfig schema` rewrites it)")
    modeline = Path(os.path.relpath(schema_path.absolute(), path.absolute().parent)).as_posix()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as stream:  # "x": never replace a file made meanwhile
        stream.write(starter_spec(modeline))
    done.append(f"wrote {path}; edit it, then run: izzyfig build {path.parent}")
    return done
