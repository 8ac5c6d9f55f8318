"""Planning the analysis kinds: whole layer ranges kept, indices resolved, problems positioned."""
from __future__ import annotations

import numpy as np
import pytest

from izzyfig.errors import SpecError


def lines(caught: pytest.ExceptionInfo, tmp_path) -> list[str]:
    return str(caught.value).replace(f"{tmp_path}/", "").splitlines()


def test_stacks_keep_every_layer_of_their_range_and_share_forwards(plan_yaml, models):
    plan = plan_yaml(f"""
        version: 1
        defaults: {{model: {models['bert']}}}
        figures:
          atlas: {{kind: atlas, text: the cat sat, layers: [1, -2], highlight: [[2, 3], [-2, -1]]}}
          summary: {{kind: head-summary, statistic: entropy, texts: [a b, the cat sat]}}
          roll: {{kind: rollout, text: the cat sat, layers: [0, 2], residual: 0.3}}
    """)
    atlas, summary, roll = plan.figures
    assert atlas.analysis.layers == (1, 4) and atlas.analysis.highlight == ((2, 3), (4, 11))
    assert [s.layers for s in atlas.selections] == [(1, 4)] and atlas.selections[0].layer is None
    assert [(s.index, s.layers) for s in summary.selections] == [(0, (0, 5)), (1, (0, 5))]
    assert (roll.analysis.residual, roll.analysis.layers) == (0.3, (0, 2))
    # one forward per distinct text; it keeps the union of the layers its figures read
    assert len(plan.forwards) == 2
    shared = atlas.selections[0].input
    assert shared is summary.selections[1].input is roll.selections[0].input
    assert shared.keep == tuple(("self", layer) for layer in range(6))
    assert atlas.view() == {"layers": [1, 4], "highlight": [[2, 3], [4, 11]]}


def test_grouped_query_models_plan_heads_per_group_and_chosen_heads(plan_yaml, models):
    plan = plan_yaml(f"""
        version: 1
        figures:
          gqa: {{kind: atlas, text: x, model: {models['llama']}, heads: [7, -8]}}
    """)
    (job,) = plan.figures
    assert (job.analysis.heads, job.analysis.heads_per_group, job.analysis.layers) == ((7, 0), 4, (0, 1))


def test_indices_are_checked_against_the_model_with_positions(plan_yaml, models, tmp_path):
    with pytest.raises(SpecError) as caught:
        plan_yaml(f"""
            version: 1
            defaults: {{model: {models['bert']}, text: the cat sat}}
            figures:
              a1: {{kind: atlas, layers: [1, 6]}}
              a2: {{kind: atlas, layers: [4, -3]}}
              a3: {{kind: atlas, heads: [0, 12, -12]}}
              a4: {{kind: atlas, layers: [0, 2], heads: [1, 2], highlight: [[3, 1], [0, 5], [6, 0], [0, 12]]}}
              s1: {{kind: head-summary, statistic: distance, model: {models['t5']}, source: a b, target: c,
                    attention: cross}}
              r1: {{kind: rollout, model: {models['t5']}, source: a b, target: c,
                    attention: cross}}
        """)
    assert [line.replace("models/bert", "bert") for line in lines(caught, tmp_path)] == [
        "spec.yaml:4:21: figures.a1.layers: [1, 6]: layer 6 is out of range for model 'bert' (6 layers)",
        "spec.yaml:5:21: figures.a2.layers: [4, -3] is inverted for model 'bert': layer 4 comes after layer 3",
        "spec.yaml:6:21: figures.a3.heads: head 0 is listed twice (negative indices count from the end)",
        "spec.yaml:6:32: figures.a3.heads[1]: 12 is out of range for model 'bert' (12 heads)",
        "spec.yaml:7:64: figures.a4.highlight[0]: [3, 1]: layer 3 is not drawn (layers: [0, 2])",
        "spec.yaml:7:72: figures.a4.highlight[1]: [0, 5]: head 5 is not drawn (heads: [1, 2])",
        "spec.yaml:7:80: figures.a4.highlight[2]: [6, 0]: layer 6 is out of range for model 'bert' (6 layers)",
        "spec.yaml:7:88: figures.a4.highlight[3]: [0, 12]: head 12 is out of range for model 'bert' (12 heads)",
        "spec.yaml:9:9: figures.s1.attention: the 'distance' statistic compares query and key positions, so it "
        "needs self-attention; cross-attention maps have other rows than columns",
        "spec.yaml:11:9: figures.r1.attention: rollout multiplies the maps of successive layers, so it needs "
        "self-attention; cross-attention maps have other rows than columns",
    ]


def test_array_stacks_need_layers_and_heads_axes(plan_yaml, tmp_path):
    np.save(tmp_path / "one.npy", np.full((4, 4), 0.25))
    np.save(tmp_path / "stack.npy", np.full((2, 3, 4, 4), 0.25))
    with pytest.raises(SpecError) as caught:
        plan_yaml("""
            version: 1
            figures:
              a: {kind: atlas, array: {path: one.npy, layout: query key}}
              b: {kind: head-summary, statistic: max, texts: [x], array: {path: stack.npy, layout: layers heads query key}}
        """)
    assert lines(caught, tmp_path) == [
        "spec.yaml:3:43: figures.a.array.layout: an atlas figure needs an array with 'layers' and 'heads' axes "
        "(layout 'query key')",
        "spec.yaml:4:43: figures.b.texts: 'texts' needs a model to run on (an array is one input)",
    ]
    plan = plan_yaml("""
        version: 1
        figures:
          a: {kind: atlas, array: {path: stack.npy, layout: layers heads query key}, layers: [1, 1]}
    """)
    assert plan.figures[0].analysis.layers == (1, 1) and plan.forwards == ()
