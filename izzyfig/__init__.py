"""izzyfig: a declarative figure compiler for transformer attention.

The seven IzzyViz function names are available here, so ``from izzyviz import X``
becomes ``from izzyfig import X``, with three more for the analysis kinds (atlas,
head summary, rollout). They load lazily: ``import izzyfig`` alone imports
neither matplotlib nor torch.
"""
__version__ = "0.1.0"

API = (
    "visualize_attention_self_attention",
    "visualize_attention_encoder_decoder",
    "compare_two_attentions_with_circles",
    "check_stability_heatmap_with_gradient_color",
    "visualize_attention_evolution_sparklines",
    "visualize_attention_with_detected_regions",
    "find_attention_regions_with_merging",
    "visualize_attention_atlas",
    "visualize_head_summary",
    "visualize_attention_rollout",
)
__all__ = ["__version__", *API]


def __getattr__(name: str):
    if name in API:
        from izzyfig import api

        return getattr(api, name)
    raise AttributeError(f"module 'izzyfig' has no attribute '{name}'")
