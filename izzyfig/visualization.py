"""IzzyViz's module path: ``from izzyviz.visualization import X`` -> ``from izzyfig.visualization import X``."""
from izzyfig.api import (  # noqa: F401  (re-exported names)
    check_stability_heatmap_with_gradient_color,
    compare_two_attentions_with_circles,
    find_attention_regions_with_merging,
    visualize_attention_encoder_decoder,
    visualize_attention_evolution_sparklines,
    visualize_attention_self_attention,
    visualize_attention_with_detected_regions,
)

__all__ = [
    "check_stability_heatmap_with_gradient_color",
    "compare_two_attentions_with_circles",
    "find_attention_regions_with_merging",
    "visualize_attention_encoder_decoder",
    "visualize_attention_evolution_sparklines",
    "visualize_attention_self_attention",
    "visualize_attention_with_detected_regions",
]
