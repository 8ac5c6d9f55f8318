"""``izzyfig.analysis``: known answers, a plain-loop oracle, exact errors, a trained model.

The oracle functions below use Python loops and ``math`` only, one formula line each,
so they read like the docstrings they check.
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from izzyfig.analysis import (
    STATISTICS, aggregate, attention_rollout, corpus_head_statistics, head_statistics,
    induction_positions, residual_attention,
)
from izzyfig.errors import AnalysisError, IzzyfigError

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-9


def normalised(array: np.ndarray) -> np.ndarray:
    """Rows divided by their sums (all-zero rows stay zero)."""
    sums = array.sum(axis=-1, keepdims=True)
    return np.divide(array, sums, out=np.zeros_like(array), where=sums > 0)


def stack(*layers) -> np.ndarray:
    """``(layers, heads, n, n)`` from per-layer lists of ``(n, n)`` head maps."""
    return np.array([[np.asarray(head, dtype=float) for head in layer] for layer in layers])


def shift(n: int) -> np.ndarray:
    """Every token attends to the one before it (the first to itself)."""
    out = np.zeros((n, n))
    out[0, 0] = 1.0
    out[np.arange(1, n), np.arange(n - 1)] = 1.0
    return out


# ----------------------------------------------------------------------------- known answers
@pytest.mark.parametrize("n", [1, 2, 7, 30])
def test_uniform_rows_have_entropy_ln_n(n):
    maps = np.full((2, 3, n, n), 1.0 / n)
    np.testing.assert_allclose(head_statistics(maps, "entropy"), np.full((2, 3), math.log(n)), atol=TOLERANCE)


def test_identity_has_distance_zero_previous_token_zero_entropy_zero_max_one():
    maps = stack([np.eye(6)] * 2, [np.eye(6)] * 2)
    assert head_statistics(maps, "distance").tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert head_statistics(maps, "previous-token").tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert head_statistics(maps, "entropy").tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert head_statistics(maps, "max").tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_pure_shift_has_previous_token_one_and_distance_near_one():
    n = 8
    maps = stack([shift(n), np.eye(n)])
    assert head_statistics(maps, "previous-token").tolist() == [[1.0, 0.0]]
    # Every row but the first moves one token back: distance (n - 1) / n.
    np.testing.assert_allclose(head_statistics(maps, "distance"), [[(n - 1) / n, 0.0]], atol=TOLERANCE)


def test_distance_of_attention_to_the_first_token_is_the_mean_position():
    n = 5
    first = np.zeros((n, n))
    first[:, 0] = 1.0
    assert head_statistics(stack([first]), "distance")[0, 0] == pytest.approx(sum(range(n)) / n)


def test_special_sums_attention_on_marked_positions():
    tokens = ["[CLS]", "the", "cat", "[SEP]"]
    head = np.array([[0.5, 0.25, 0.25, 0.0],
                     [0.1, 0.2, 0.3, 0.4],
                     [0.0, 0.0, 0.0, 1.0],
                     [0.25, 0.25, 0.25, 0.25]])
    expected = ((0.5 + 0.0) + (0.1 + 0.4) + (0.0 + 1.0) + (0.25 + 0.25)) / 4
    by_tokens = head_statistics(stack([head]), "special", tokens=tokens)
    by_index = head_statistics(stack([head]), "special", special=[0, -1])
    assert by_tokens[0, 0] == pytest.approx(expected) == by_index[0, 0]
    assert head_statistics(stack([head]), "special", special=[1])[0, 0] == pytest.approx((0.25 + 0.2) / 4 + 0.25 / 4)


def test_special_works_on_cross_attention_shapes():
    maps = np.full((1, 2, 3, 5), 0.2)
    np.testing.assert_allclose(head_statistics(maps, "special", tokens=["a", "b", "c", "d", "</s>"]), [[0.2, 0.2]])


def perfect_induction(m: int, bos: bool) -> np.ndarray:
    """A head that attends, in the second half, to the token after the earlier occurrence."""
    start = int(bos)
    n = start + 2 * m
    out = np.eye(n)
    for i in range(start + m, n):
        out[i] = 0.0
        out[i, i - m + 1] = 1.0
    return out


@pytest.mark.parametrize("bos", [False, True])
def test_induction_of_a_perfect_induction_head_is_one(bos):
    m = 5
    words = [f"w{k}" for k in range(m)]
    tokens = (["<s>"] if bos else []) + words + words
    maps = stack([perfect_induction(m, bos), shift(len(tokens)), np.eye(len(tokens))])
    expected = [[1.0, 0.0, 0.0]]
    assert head_statistics(maps, "induction", tokens=tokens).tolist() == expected
    assert head_statistics(maps, "induction").tolist() == expected  # BOS from the odd length


def test_induction_positions_follow_the_formula():
    rows, columns = induction_positions(9)  # <s> a b c d a b c d: m = 4
    assert rows.tolist() == [5, 6, 7, 8]
    assert columns.tolist() == [2, 3, 4, 5]  # i - m + 1
    rows, columns = induction_positions(6)
    assert rows.tolist() == [3, 4, 5] and columns.tolist() == [1, 2, 3]


def test_rollout_with_residual_one_is_identity():
    maps = normalised(np.random.default_rng(1).random((4, 3, 6, 6)))
    assert attention_rollout(maps, residual=1.0).tolist() == np.eye(6).tolist()


def test_rollout_of_one_layer_is_its_renormalised_residual_mean():
    rng = np.random.default_rng(2)
    maps = normalised(rng.random((3, 4, 5, 5)))
    expected = 0.3 * np.eye(5) + 0.7 * maps[1].mean(axis=0)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(attention_rollout(maps, residual=0.3, layers=(1, 1)), expected, atol=TOLERANCE)
    np.testing.assert_allclose(attention_rollout(maps[:1], residual=0.3), residual_attention(maps[0], 0.3),
                               atol=TOLERANCE)


def test_rollout_multiplies_later_layers_on_the_left():
    rng = np.random.default_rng(3)
    maps = normalised(rng.random((3, 2, 4, 4)))
    steps = [residual_attention(maps[layer], 0.5) for layer in range(3)]
    np.testing.assert_allclose(attention_rollout(maps), steps[2] @ steps[1] @ steps[0], atol=TOLERANCE)
    np.testing.assert_allclose(attention_rollout(maps, layers=(1, -1)), steps[2] @ steps[1], atol=TOLERANCE)
    assert not np.allclose(steps[2] @ steps[1], steps[1] @ steps[2])  # the order matters here


def test_rollout_of_causal_maps_stays_causal_and_rows_sum_to_one():
    rng = np.random.default_rng(4)
    maps = normalised(np.tril(rng.random((5, 3, 7, 7))))
    rollout = attention_rollout(maps, residual=0.2)
    assert np.allclose(np.triu(rollout, 1), 0.0)
    np.testing.assert_allclose(rollout.sum(axis=1), 1.0, atol=TOLERANCE)


def test_aggregate_mean_and_max():
    maps = stack([np.eye(3), shift(3)], [np.full((3, 3), 1 / 3), np.eye(3)])
    np.testing.assert_allclose(aggregate(maps), [(np.eye(3) + shift(3)) / 2, (1 / 3 + np.eye(3)) / 2])
    np.testing.assert_allclose(aggregate(maps, how="max"), [np.maximum(np.eye(3), shift(3)),
                                                            np.maximum(1 / 3, np.eye(3))])
    np.testing.assert_allclose(aggregate(maps, over="layers"), [(np.eye(3) + 1 / 3) / 2, (shift(3) + np.eye(3)) / 2])
    assert aggregate(maps, over="layers", how="max").shape == (2, 3, 3)


def test_corpus_statistic_is_the_mean_of_per_text_statistics():
    short = stack([shift(3), np.eye(3)])
    long = stack([shift(9), shift(9)])
    value = corpus_head_statistics([short, long], "previous-token")
    assert value.tolist() == [[1.0, 0.5]]  # each text counts once, whatever its length
    tokens = [["<s>", "a", "b"], ["<s>"] + ["x"] * 8]
    by_tokens = corpus_head_statistics([short, long], "special", tokens=tokens)
    expected = (head_statistics(short, "special", special=[0]) + head_statistics(long, "special", special=[0])) / 2
    np.testing.assert_allclose(by_tokens, expected, atol=TOLERANCE)
    last = corpus_head_statistics([short, long], "special", special=[-1])
    expected = (head_statistics(short, "special", special=[2]) + head_statistics(long, "special", special=[8])) / 2
    np.testing.assert_allclose(last, expected, atol=TOLERANCE)


def test_import_needs_neither_torch_nor_matplotlib():
    code = "import sys, izzyfig.analysis; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_render_style_still_knows_special_tokens():
    from izzyfig.render import style

    assert style.is_special_token("[CLS]") and style.is_special_token("<|endoftext|>")
    assert not style.is_special_token("cat")


# ----------------------------------------------------------------------------- oracle
def naive_residual_step(heads, residual):
    n = len(heads[0])
    rows = []
    for i in range(n):
        row = [residual * (i == j) + (1 - residual) * sum(h[i][j] for h in heads) / len(heads) for j in range(n)]
        rows.append([value / sum(row) for value in row])
    return rows


def naive_rollout(maps, residual, first, last):
    n = maps.shape[-1]
    result = [[float(i == j) for j in range(n)] for i in range(n)]
    for layer in range(first, last + 1):
        step = naive_residual_step(maps[layer].tolist(), residual)
        result = [[sum(step[i][t] * result[t][j] for t in range(n)) for j in range(n)] for i in range(n)]
    return np.array(result)


def naive_statistic(p, statistic, special=(), tokens=None):
    """One head ``p`` (q x k lists): the per-row value of the docstring table, averaged."""
    q, k = len(p), len(p[0])
    if statistic == "entropy":
        values = [-sum(x * math.log(x) for x in p[i] if x > 0) for i in range(q)]
    elif statistic == "distance":
        values = [sum(p[i][j] * abs(i - j) for j in range(k)) for i in range(q)]
    elif statistic == "previous-token":
        values = [p[i][i - 1] for i in range(1, q)]
    elif statistic == "special":
        values = [sum(p[i][j] for j in special) for i in range(q)]
    elif statistic == "max":
        values = [max(p[i]) for i in range(q)]
    else:
        start = 1 if tokens and tokens[0].startswith("<") else q % 2
        m = (q - start) // 2
        values = [p[i][i - m + 1] for i in range(start + m, q)]
    return sum(values) / len(values)


def naive_statistics(maps, statistic, **options):
    return np.array([[naive_statistic(head.tolist(), statistic, **options) for head in layer] for layer in maps])


def attention_maps(min_side=1, max_side=7, square=True):
    """Hypothesis strategy: ``(layers, heads, q, k)`` arrays with rows normalised (some zero rows)."""
    def build(shape):
        elements = st.floats(0, 1, allow_nan=False, width=64)
        return arrays(np.float64, shape, elements=elements).map(normalised)

    side = st.integers(min_side, max_side)
    dims = st.tuples(st.integers(1, 3), st.integers(1, 3), side, side if not square else st.just(None))
    return dims.map(lambda d: (d[0], d[1], d[2], d[2] if d[3] is None else d[3])).flatmap(build)


@settings(max_examples=60, deadline=None)
@given(maps=attention_maps(min_side=1, max_side=6), residual=st.floats(0.01, 1.0), data=st.data())
def test_rollout_matches_a_plain_loop(maps, residual, data):
    count = maps.shape[0]
    first = data.draw(st.integers(0, count - 1))
    last = data.draw(st.integers(first, count - 1))
    rollout = attention_rollout(maps, residual=residual, layers=(first, last))
    np.testing.assert_allclose(rollout, naive_rollout(maps, residual, first, last), atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(rollout.sum(axis=1), 1.0, atol=TOLERANCE)


@settings(max_examples=40, deadline=None)
@given(maps=attention_maps(min_side=2, max_side=9), statistic=st.sampled_from(
    ["entropy", "distance", "previous-token", "max"]))
def test_square_statistics_match_a_plain_loop(maps, statistic):
    np.testing.assert_allclose(head_statistics(maps, statistic), naive_statistics(maps, statistic),
                               atol=TOLERANCE, rtol=0)


@settings(max_examples=40, deadline=None)
@given(maps=attention_maps(min_side=1, max_side=7, square=False), data=st.data())
def test_row_statistics_of_any_shape_match_a_plain_loop(maps, data):
    keys = maps.shape[-1]
    special = sorted(data.draw(st.sets(st.integers(0, keys - 1), min_size=1)))
    for statistic, options in (("entropy", {}), ("max", {}), ("special", {"special": special})):
        np.testing.assert_allclose(head_statistics(maps, statistic, **options),
                                   naive_statistics(maps, statistic, **options), atol=TOLERANCE, rtol=0)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 5), bos=st.booleans(), data=st.data())
def test_induction_matches_a_plain_loop(m, bos, data):
    n = 2 * m + bos
    maps = data.draw(arrays(np.float64, (2, 2, n, n), elements=st.floats(0, 1, width=64)).map(normalised))
    words = [f"w{k}" for k in range(m)]
    tokens = (["<s>"] if bos else []) + words + words
    expected = naive_statistics(maps, "induction", tokens=tokens)
    np.testing.assert_allclose(head_statistics(maps, "induction", tokens=tokens), expected, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(head_statistics(maps, "induction"), expected, atol=TOLERANCE, rtol=0)


def test_statistics_list_is_what_the_oracle_covers():
    assert STATISTICS == ("entropy", "distance", "previous-token", "special", "max", "induction")


# ----------------------------------------------------------------------------- errors
UNIFORM = np.full((1, 1, 4, 4), 0.25)


@pytest.mark.parametrize("call, message", [
    (lambda: head_statistics(np.ones((4, 4)), "max"),
     "attention maps must have shape (layers, heads, query, key); got 2 dimension(s), shape (4, 4)"),
    (lambda: head_statistics(UNIFORM, "mean"),
     "unknown statistic 'mean'; expected one of: entropy, distance, previous-token, special, max, induction"),
    (lambda: head_statistics(np.full((1, 1, 2, 3), 1 / 3), "distance"),
     "the 'distance' statistic compares query and key positions, so it needs square maps (self-attention); "
     "got 2 queries x 3 keys"),
    (lambda: head_statistics(UNIFORM * np.nan, "entropy"), "attention maps contain NaN or infinite values"),
    (lambda: head_statistics(UNIFORM - 0.5, "entropy"),
     "attention maps contain negative values (minimum -0.25); attention weights are probabilities"),
    (lambda: head_statistics(np.zeros((0, 1, 4, 4)), "max"),
     "attention maps (layers, heads, query, key) have an empty axis: shape (0, 1, 4, 4)"),
    (lambda: head_statistics(UNIFORM.astype(bool), "max"), "attention maps must be real numbers; got dtype bool"),
    (lambda: head_statistics(UNIFORM, "special"),
     "the 'special' statistic needs either tokens (to find the special tokens) or an explicit list of "
     "special positions, not neither"),
    (lambda: head_statistics(UNIFORM, "special", tokens=list("abcd"), special=[0]),
     "the 'special' statistic needs either tokens (to find the special tokens) or an explicit list of "
     "special positions, not both"),
    (lambda: head_statistics(UNIFORM, "special", tokens=list("abcd")),
     "the 'special' statistic found no special token ([CLS], </s>, <|endoftext|>, ...) among the tokens; "
     "give the positions explicitly"),
    (lambda: head_statistics(UNIFORM, "special", special=[4]),
     "special position 4 is not a key position (0..3, or negative)"),
    (lambda: head_statistics(UNIFORM, "special", special=[]),
     "special must be a non-empty list of key positions, got []"),
    (lambda: head_statistics(UNIFORM, "entropy", tokens=["a"]), "got 1 tokens for maps with 4 key positions"),
    (lambda: head_statistics(np.ones((1, 1, 1, 1)), "previous-token"),
     "the 'previous-token' statistic needs at least 2 tokens"),
    (lambda: head_statistics(np.full((1, 1, 5, 5), 0.2), "induction", tokens=["a", "b", "c", "a", "b"]),
     "the 'induction' statistic needs a sequence whose second half repeats the first; "
     "5 tokens cannot be split in two halves"),
    (lambda: head_statistics(np.full((1, 1, 4, 4), 0.25), "induction", tokens=["<s>", "a", "b", "a"]),
     "the 'induction' statistic needs a sequence whose second half repeats the first; "
     "3 tokens after the leading '<s>' cannot be split in two halves"),
    (lambda: head_statistics(np.full((1, 1, 5, 5), 0.2), "induction", tokens=["<s>", "a", "b", "a", "c"]),
     "the 'induction' statistic needs the second half to repeat the first: token 4 'c' differs from token 2 'b'"),
    (lambda: head_statistics(np.full((1, 1, 3, 3), 1 / 3), "induction"),
     "the 'induction' statistic needs at least 2 tokens repeated; got 2 tokens"),
    (lambda: attention_rollout(UNIFORM, residual=1.5), "residual must be a number between 0 and 1, got 1.5"),
    (lambda: attention_rollout(UNIFORM, residual=True), "residual must be a number between 0 and 1, got True"),
    (lambda: attention_rollout(np.full((3, 1, 2, 2), 0.5), layers=(0, 3)), "layer 3 is out of range for 3 layers"),
    (lambda: attention_rollout(np.full((3, 1, 2, 2), 0.5), layers=(2, 0)),
     "layers (2, 0): the first layer comes after the last"),
    (lambda: attention_rollout(np.full((3, 1, 2, 2), 0.5), layers=2),
     "layers must be a (first, last) pair of integers, got 2"),
    (lambda: attention_rollout(stack([[[1, 0], [0, 0]]]), residual=0.0),
     "rollout: row 1 of layer 0 has no attention in any head, so it cannot be renormalised (use residual > 0)"),
    (lambda: aggregate(UNIFORM, over="tokens"), "cannot aggregate over 'tokens'; expected one of: layers, heads"),
    (lambda: aggregate(UNIFORM, how="median"), "unknown aggregate 'median'; expected one of: mean, max"),
    (lambda: corpus_head_statistics(UNIFORM, "max"),
     "maps must be a non-empty list of per-text attention arrays"),
    (lambda: corpus_head_statistics([UNIFORM, np.full((2, 1, 4, 4), 0.25)], "max"),
     "text 1 has 2 layers x 1 heads, text 0 has 1 x 1"),
    (lambda: corpus_head_statistics([UNIFORM, UNIFORM], "special", tokens=[list("abcd"), list("abcd")]),
     "text 0: the 'special' statistic found no special token ([CLS], </s>, <|endoftext|>, ...) among the tokens; "
     "give the positions explicitly"),
    (lambda: corpus_head_statistics([UNIFORM], "max", tokens=[]), "got 0 token lists for 1 texts"),
])
def test_invalid_input_gets_a_clear_message(call, message):
    with pytest.raises(AnalysisError) as caught:
        call()
    assert str(caught.value) == message
    assert isinstance(caught.value, IzzyfigError)


# ----------------------------------------------------------------------------- a trained model
TINY_REPEAT = ROOT / "models" / "tiny-repeat"
PREVIOUS_TOKEN_HEAD = (0, 1)  # models/README.md
INDUCTION_HEAD = (1, 3)


def repeated_texts(count: int) -> list[str]:
    """``w1 .. w10 w1 .. w10`` with 10 distinct in-vocabulary words, seeded."""
    vocabulary = json_vocabulary()
    rng = np.random.default_rng(14)
    return [" ".join(list(rng.choice(vocabulary, 10, replace=False)) * 2) for _ in range(count)]


def json_vocabulary() -> list[str]:
    import json

    vocab = json.loads((TINY_REPEAT / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    return sorted(word for word in vocab if not word.startswith("<"))


@pytest.fixture(scope="module")
def tiny_repeat_maps(tmp_path_factory):
    """Per text: the ``(layers, heads, n, n)`` maps and raw tokens, through izzyfig's extraction."""
    pytest.importorskip("torch")
    from izzyfig.extract.runner import ModelRunner
    from izzyfig.plan import plan_build
    from izzyfig.spec.loader import load_spec_text

    folder = tmp_path_factory.mktemp("tiny-repeat")
    figures = "".join(
        f"  t{index}:\n    kind: self-attention\n    text: {text}\n    layer: 0\n"
        for index, text in enumerate(repeated_texts(6))
    )
    text = f"version: 1\ndefaults:\n  model: {TINY_REPEAT}\nfigures:\n{figures}"
    plan = plan_build([load_spec_text(text, str(folder / "spec.yaml"))], cache_dir=folder / "cache")
    runner = ModelRunner()
    layers = [("self", layer) for layer in range(plan.models[0].shape.decoder.layers)]
    maps, tokens = [], []
    for forward in plan.forwards:
        by_layer = runner.attentions(forward, layers)
        maps.append(np.stack([by_layer[layer] for layer in layers]))
        tokens.append(runner.tokenize(forward).input.raw)
    return maps, tokens


def best_head(scores: np.ndarray) -> tuple[int, int]:
    layer, head = np.unravel_index(np.argmax(scores), scores.shape)
    return int(layer), int(head)


def test_tiny_repeat_induction_score_ranks_its_induction_head_first(tiny_repeat_maps):
    maps, tokens = tiny_repeat_maps
    assert maps[0].shape == (2, 4, 21, 21) and tokens[0][0] == "<s>"
    scores = corpus_head_statistics(maps, "induction", tokens=tokens)
    assert best_head(scores) == INDUCTION_HEAD
    assert scores[INDUCTION_HEAD] > 0.8 and scores[0].max() < 0.1


def test_tiny_repeat_previous_token_score_ranks_its_previous_token_head_first(tiny_repeat_maps):
    maps, _ = tiny_repeat_maps
    scores = corpus_head_statistics(maps, "previous-token")
    assert best_head(scores) == PREVIOUS_TOKEN_HEAD
    assert scores[PREVIOUS_TOKEN_HEAD] > 0.8


def test_tiny_repeat_rollout_is_causal_and_normalised(tiny_repeat_maps):
    maps, _ = tiny_repeat_maps
    rollout = attention_rollout(maps[0])
    assert np.allclose(np.triu(rollout, 1), 0.0, atol=1e-6)
    np.testing.assert_allclose(rollout.sum(axis=1), 1.0, atol=1e-6)
