"""Renderers: NumPy arrays in, matplotlib Figures out, one function per figure kind.

Keyword names and defaults match the spec's render options
(``izzyfig.spec.models``), so the build can call ``render_<kind>(...,
**figure.render_options())``. No pyplot: every figure is a standalone
``matplotlib.figure.Figure``; :func:`save_figure` writes byte-stable files.
With ``page=`` a figure is drawn at its printed size (``izzyfig.page``).
"""
from izzyfig.render.atlas import render_atlas
from izzyfig.render.comparison import render_comparison
from izzyfig.render.cross_attention import render_cross_attention
from izzyfig.render.evolution import render_evolution
from izzyfig.render.head_summary import render_head_summary
from izzyfig.render.output import save_figure
from izzyfig.render.panels import render_panels
from izzyfig.render.question_context import render_question_context
from izzyfig.render.regions import render_regions
from izzyfig.render.rollout import render_rollout
from izzyfig.render.self_attention import render_self_attention
from izzyfig.render.stability import render_stability

__all__ = [
    "render_atlas",
    "render_comparison",
    "render_cross_attention",
    "render_evolution",
    "render_head_summary",
    "render_panels",
    "render_question_context",
    "render_regions",
    "render_rollout",
    "render_self_attention",
    "render_stability",
    "save_figure",
]

RENDERERS = {
    "self-attention": render_self_attention,
    "question-context": render_question_context,
    "cross-attention": render_cross_attention,
    "comparison": render_comparison,
    "stability": render_stability,
    "evolution": render_evolution,
    "regions": render_regions,
    "atlas": render_atlas,
    "head-summary": render_head_summary,
    "rollout": render_rollout,
}
