"""The commented starter spec that ``izzyfig init`` writes."""
from __future__ import annotations

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
