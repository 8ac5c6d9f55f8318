"""Bad specs: each case is (YAML text, the exact message izzyfig must print).

Text cases go through ``load_spec_text`` under the name ``specs/paper.yaml``; cases that
need real files (bytes, sizes, several files) use ``load_specs`` on a temporary tree.
"""
from __future__ import annotations

import textwrap

import pytest

from izzyfig.errors import SpecError
from izzyfig.spec import load_spec_text, load_specs
from izzyfig.spec.loader import MAX_BYTES

NAME = "specs/paper.yaml"
KINDS = ("self-attention, question-context, cross-attention, comparison, stability, evolution, regions, panels, "
         "atlas, head-summary, rollout")


def spec(body: str) -> str:
    """A valid header followed by ``body`` (the figures mapping's entries)."""
    return "version: 1\nfigures:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def fig(body: str) -> str:
    """One self-attention figure ``f`` with ``body`` as extra keys (figure keys at line 4)."""
    return spec("f:\n  kind: self-attention\n" + textwrap.indent(textwrap.dedent(body), "  "))


CASES = {
    "yaml syntax error": (
        "version: 1\nfigures:\n  f: a: b\n",
        "specs/paper.yaml:3:7: invalid YAML: mapping values are not allowed here; quote a value that contains ': '",
    ),
    "unclosed quote": (
        'version: 1\nfigures:\n  f:\n    title: "abc\n',
        "specs/paper.yaml:5:1: invalid YAML: found unexpected end of stream "
        "(while scanning a quoted scalar at line 4)",
    ),
    "empty file": ("", "specs/paper.yaml:1:1: file is empty; a spec starts with 'version: 1' and 'figures:'"),
    "comments only": (
        "# nothing yet\n",
        "specs/paper.yaml:1:1: file is empty; a spec starts with 'version: 1' and 'figures:'",
    ),
    "document marker only": (
        "---\n",
        "specs/paper.yaml:1:1: file is empty; a spec starts with 'version: 1' and 'figures:'",
    ),
    "top-level list": (
        "- version: 1\n",
        "specs/paper.yaml:1:1: expected a mapping with 'version' and 'figures' at the top level, got a list",
    ),
    "top-level scalar": (
        "hello\n",
        "specs/paper.yaml:1:1: expected a mapping with 'version' and 'figures' at the top level, got 'hello'",
    ),
    "tab indentation": (
        "version: 1\nfigures:\n\tf:\n",
        "specs/paper.yaml:3:1: tab character in indentation; YAML indents with spaces",
    ),
    "control character": ("version: 1\x07\n", "specs/paper.yaml:1:11: character U+0007 is not allowed in YAML"),
    "missing version": (
        "figures:\n  f:\n    kind: regions\n",
        "specs/paper.yaml:1:1: missing required key 'version' (add 'version: 1')",
    ),
    "wrong version": ("version: 2\nfigures:\n  f: {kind: regions}\n", "specs/paper.yaml:1:1: version: expected 1, got 2"),
    "missing figures": ("version: 1\n", "specs/paper.yaml:1:1: missing required key 'figures'"),
    "no figures": (
        "version: 1\nfigures: {}\n",
        "specs/paper.yaml:2:1: figures: expected a mapping from figure id to figure, got no figures",
    ),
    "unknown top-level key": (
        "version: 1\nfigure: {}\nfigures:\n  f: {kind: regions}\n",
        "specs/paper.yaml:2:1: unknown key 'figure' (did you mean 'figures'?)",
    ),
    "figure not a mapping": (spec("f: 3\n"), "specs/paper.yaml:3:3: figures.f: expected a mapping of figure keys, got 3"),
    "wrong type int": (fig("layer: eight\n"), "specs/paper.yaml:5:5: figures.f.layer: expected an integer, got 'eight'"),
    "head neither index nor aggregate": (
        fig("head: eight\n"), "specs/paper.yaml:5:5: figures.f.head: expected an integer, 'mean' or 'max', got 'eight'"
    ),
    "head index with kv_group": (
        fig("head: 1\nkv_group: 0\n"),
        "specs/paper.yaml:3:3: figures.f: give either a 'head' index or 'kv_group', not both "
        "('head: mean' or 'head: max' aggregate the group's heads)",
    ),
    "window side is neither index nor token": (
        fig("window: {rows: [0, -3]}\n"),
        "specs/paper.yaml:5:24: figures.f.window.rows[1]: expected a token index (an integer >= 0) "
        "or a token string, got -3",
    ),
    "inverted window": (
        fig("window: {cols: [4, 2]}\n"),
        "specs/paper.yaml:5:5: figures.f.window: inverted window: cols [4, 2] must have first <= last",
    ),
    "empty window": (fig("window: {}\n"), "specs/paper.yaml:5:5: figures.f.window: a window needs 'rows', 'cols' or both"),
    "unknown units": (fig("units: pieces\n"), "specs/paper.yaml:5:5: figures.f.units: expected 'tokens' or 'words', got 'pieces'"),
    "wrong type float for int": (fig("layer: 1.5\n"), "specs/paper.yaml:5:5: figures.f.layer: expected an integer, got 1.5"),
    "wrong type bool": (
        fig("auto_regions: maybe\n"),
        "specs/paper.yaml:5:5: figures.f.auto_regions: expected true or false, got 'maybe'",
    ),
    "wrong type list": (fig("tokens: a b c\n"), "specs/paper.yaml:5:5: figures.f.tokens: expected a list, got 'a b c'"),
    "wrong type string": (fig("title: [a, b]\n"), "specs/paper.yaml:5:5: figures.f.title: expected a string, got a list"),
    "wrong type mapping": (fig("array: x.npy\n"), "specs/paper.yaml:5:5: figures.f.array: expected a mapping, got 'x.npy'"),
    "negative top_n": (fig("top_n: -1\n"), "specs/paper.yaml:5:5: figures.f.top_n: must be at least 0, got -1"),
    "gamma zero": (fig("gamma: 0\n"), "specs/paper.yaml:5:5: figures.f.gamma: must be greater than 0, got 0"),
    "gamma negative": (fig("gamma: -0.5\n"), "specs/paper.yaml:5:5: figures.f.gamma: must be greater than 0, got -0.5"),
    "gamma infinite": (fig("gamma: .inf\n"), "specs/paper.yaml:5:5: figures.f.gamma: expected a finite number, got inf"),
    "literal": (
        fig("dtype: float8\n"),
        "specs/paper.yaml:5:5: figures.f.dtype: expected 'float32', 'float64', 'float16' or 'bfloat16', got 'float8'",
    ),
    "device": (
        fig("device: gpu\n"),
        "specs/paper.yaml:5:5: figures.f.device: expected 'cpu', 'mps', 'cuda' or 'cuda:N', got 'gpu'",
    ),
    "empty text": (fig('text: ""\n'), "specs/paper.yaml:5:5: figures.f.text: must not be empty"),
    "inverted box": (
        fig("boxes:\n  - rows: [3, 1]\n    cols: [0, 1]\n"),
        "specs/paper.yaml:6:9: figures.f.boxes[0]: inverted box: rows [3, 1] must have first <= last",
    ),
    "negative box index": (
        fig("boxes:\n  - {rows: [0, 1], cols: [-2, 1]}\n"),
        "specs/paper.yaml:6:31: figures.f.boxes[0].cols[0]: must be at least 0, got -2",
    ),
    "box pair too short": (
        fig("boxes:\n  - {rows: [0], cols: [0, 1]}\n"),
        "specs/paper.yaml:6:10: figures.f.boxes[0].rows: expected at least 2 items, got 1",
    ),
    "token box too short": (
        fig("boxes:\n  - tokens: [cat]\n"),
        "specs/paper.yaml:6:9: figures.f.boxes[0].tokens: expected at least 2 items, got 1",
    ),
    "box not a mapping": (
        fig("boxes:\n  - [0, 1, 0, 1]\n"),
        "specs/paper.yaml:6:9: figures.f.boxes[0]: expected a mapping, got a list",
    ),
    "box misspelt key": (
        fig("boxes:\n  - {tokns: [a, b]}\n"),
        "specs/paper.yaml:6:10: figures.f.boxes[0]: unknown key 'tokns' (did you mean 'tokens'?)",
    ),
    "absolute output": (
        fig("output: /tmp/fig.pdf\n"),
        "specs/paper.yaml:5:5: figures.f.output: output '/tmp/fig.pdf' must be a relative path",
    ),
    "escaping output": (
        fig("output: figs/../../fig.pdf\n"),
        "specs/paper.yaml:5:5: figures.f.output: output 'figs/../../fig.pdf' escapes the output directory",
    ),
    "array suffix": (
        fig("array: {path: attn.txt}\n"),
        "specs/paper.yaml:5:13: figures.f.array.path: unsupported array file 'attn.txt' (use .npy, .npz or .safetensors)",
    ),
    "alias": (
        "version: 1\nfigures:\n  f: &fig {kind: regions}\n  g: *fig\n",
        "specs/paper.yaml:4:6: figures.g: YAML aliases (*fig) are not supported; "
        "use 'defaults:' or 'foreach:' to share values",
    ),
    "alias bomb": (
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "specs/paper.yaml:2:8: b[0]: YAML aliases (*a) are not supported; use 'defaults:' or 'foreach:' to share values",
    ),
    "deep nesting": ("a: " + "[" * 100 + "]" * 100 + "\n", "specs/paper.yaml:1:68: nesting is deeper than 64 levels"),
    "python tag": (
        "version: !!python/object:os.system ls\n",
        "specs/paper.yaml:1:10: version: unsupported YAML tag '!!python/object:os.system'",
    ),
    "two documents": (
        "version: 1\n---\nversion: 1\n",
        "specs/paper.yaml:2:1: a spec file holds one YAML document; remove the second '---'",
    ),
    "duplicate keys": (
        fig("head: 1\nlayer: 2\nhead: 3\n"),
        "specs/paper.yaml:7:5: figures.f: duplicate key 'head' (first at line 5, again at line 7)",
    ),
    "duplicate figure ids in one file": (
        spec("f: {kind: regions}\ng: {kind: regions}\nf: {kind: regions}\n"),
        "specs/paper.yaml:5:3: figures: duplicate key 'f' (first at line 3, again at line 5)",
    ),
    "unknown kind": (
        spec("f:\n  kind: heatmap\n"),
        f"specs/paper.yaml:4:5: figures.f.kind: unknown kind 'heatmap' (valid kinds: {KINDS})",
    ),
    "misspelt kind": (
        spec("f:\n  kind: self_attention\n"),
        "specs/paper.yaml:4:5: figures.f.kind: unknown kind 'self_attention' "
        f"(did you mean 'self-attention'? valid kinds: {KINDS})",
    ),
    "missing kind": (
        spec("f:\n  head: 1\n"),
        f"specs/paper.yaml:3:3: figures.f: missing required key 'kind' (valid kinds: {KINDS})",
    ),
    "unknown key with suggestion": (
        fig("top-n: 3\n"),
        "specs/paper.yaml:5:5: figures.f: unknown key 'top-n' (did you mean 'top_n'?)",
    ),
    "unknown key of a selection": (
        spec("f:\n  kind: comparison\n  a: {head: 1}\n  b: {hed: 2}\n"),
        "specs/paper.yaml:6:9: figures.f.b: unknown key 'hed' (did you mean 'head'?)",
    ),
    "unknown key without suggestion": (
        fig("array: {path: a.npy, zzz: 1}\n"),
        "specs/paper.yaml:5:26: figures.f.array: unknown key 'zzz' (valid keys: key, layout, path)",
    ),
    "missing required key": (
        spec("f:\n  kind: comparison\n  a: {head: 1}\n"),
        "specs/paper.yaml:3:3: figures.f: missing required key 'b'",
    ),
    "invalid figure id": (
        spec('"fig 1": {kind: regions}\n'),
        "specs/paper.yaml:3:3: figures.fig 1: invalid figure id 'fig 1': "
        "use ASCII letters, digits, '_', '.' and '-', starting with a letter or digit",
    ),
    "unknown default key": (
        "version: 1\ndefaults:\n  cmapp: Reds\nfigures:\n  f: {kind: regions}\n",
        "specs/paper.yaml:3:3: defaults: unknown key 'cmapp' in defaults (did you mean 'cmap'?)",
    ),
    "default output": (
        "version: 1\ndefaults:\n  output: a.pdf\nfigures:\n  f: {kind: regions}\n",
        "specs/paper.yaml:3:3: defaults: 'output' cannot be a default: every figure would write the same file",
    ),
    "bad default value": (
        "version: 1\ndefaults:\n  gamma: -1\nfigures:\n  f: {kind: regions}\n  g: {kind: comparison, a: {}, b: {}}\n",
        "specs/paper.yaml:3:3: defaults.gamma: must be greater than 0, got -1",
    ),
    "unquoted template": (
        spec("f{{h}}:\n  kind: regions\n  foreach: {h: [1]}\n  head: {{h}}\n"),
        'specs/paper.yaml:6:12: figures.f{{h}}.head: mapping keys must be plain strings; '
        'a template value must be quoted: "{{ var }}"',
    ),
    "undefined template variable": (
        spec('f{{h}}:\n  kind: regions\n  foreach: {h: [1, 2]}\n  title: "head {{ hh }}"\n'),
        "specs/paper.yaml:6:5: figures.f{{h}}.title: template error: 'hh' is undefined (h=1)",
    ),
    "sandbox violation": (
        spec('f{{h}}:\n  kind: regions\n  foreach: {h: [1]}\n  title: "{{ h.__class__.__mro__ }}"\n'),
        "specs/paper.yaml:6:5: figures.f{{h}}.title: template error: "
        "access to attribute '__class__' of 'int' object is unsafe (h=1)",
    ),
    "template syntax": (
        spec('f{{h}}:\n  kind: regions\n  foreach: {h: [1]}\n  title: "{{ h "\n'),
        "specs/paper.yaml:6:5: figures.f{{h}}.title: template error: "
        "unexpected end of template, expected 'end of print statement' (h=1)",
    ),
    "template id not unique": (
        spec("f{{h}}:\n  kind: regions\n  foreach: {h: [1, 2], l: [3, 4]}\n"),
        "specs/paper.yaml:3:3: figures.f{{h}}: foreach gives the id 'f1' to more than one figure, "
        "e.g. (h=1, l=3) and (h=1, l=4); use every variable in the id, e.g. 'f{{h}}-{{l}}'",
    ),
    "template error in expansion": (
        spec('h{{h}}:\n  kind: regions\n  foreach: {h: [1, -1]}\n  n_regions: "{{h}}"\n'),
        "specs/paper.yaml:6:5: figures.h{{h}}.n_regions: must be at least 1, got -1 (h=-1)",
    ),
    "bad foreach": (
        spec("f{{h}}:\n  kind: regions\n  foreach: {h: []}\n"),
        "specs/paper.yaml:5:15: figures.f{{h}}.foreach.h: expected at least one value",
    ),
    "foreach range step": (
        spec("f{{h}}:\n  kind: regions\n  foreach:\n    h: {range: [0, 4, 0]}\n"),
        "specs/paper.yaml:6:11: figures.f{{h}}.foreach.h.range: the step of a range must not be 0",
    ),
    "foreach too large": (
        spec("f{{a}}-{{b}}:\n  kind: regions\n  foreach:\n    a: {range: [0, 100]}\n    b: {range: [0, 100]}\n"),
        "specs/paper.yaml:5:5: figures.f{{a}}-{{b}}.foreach: expands to 10000 figures; the limit is 1000",
    ),
    "foreach variable name": (
        spec("f{{h}}:\n  kind: regions\n  foreach: {1h: [1]}\n"),
        "specs/paper.yaml:5:15: figures.f{{h}}.foreach.1h: invalid variable name '1h' "
        "(use letters, digits and '_', not a leading digit)",
    ),
    "template power": (
        spec('f{{h}}:\n  kind: regions\n  foreach: {h: [1]}\n  title: "{{ (9 ** 9) ** 9999 }}"\n'),
        "specs/paper.yaml:6:5: figures.f{{h}}.title: template error: 387420489 ** 9999 is too large (h=1)",
    ),
    "expanded id invalid": (
        spec('f{{h}}:\n  kind: regions\n  foreach: {h: [" x"]}\n'),
        "specs/paper.yaml:3:3: figures.f{{h}}: invalid figure id 'f x': "
        "use ASCII letters, digits, '_', '.' and '-', starting with a letter or digit (h=' x')",
    ),
    "expanded id collides": (
        spec("f1: {kind: regions}\nf{{h}}:\n  kind: regions\n  foreach: {h: [1]}\n"),
        "specs/paper.yaml:4:3: figures.f1: duplicate figure id 'f1' (also defined at specs/paper.yaml:3:3) (h=1)",
    ),
}


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_message(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, NAME)
    assert [str(p) for p in caught.value.problems] == [expected]


def test_all_problems_are_reported_sorted() -> None:
    text = fig("head: eight\ntop-n: 3\ngamma: 0\n")
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, NAME)
    assert str(caught.value).splitlines() == [
        "specs/paper.yaml:5:5: figures.f.head: expected an integer, 'mean' or 'max', got 'eight'",
        "specs/paper.yaml:6:5: figures.f: unknown key 'top-n' (did you mean 'top_n'?)",
        "specs/paper.yaml:7:5: figures.f.gamma: must be greater than 0, got 0",
    ]


def test_template_mistake_is_reported_once() -> None:
    text = spec('h{{h}}:\n  kind: regions\n  foreach: {h: {range: [0, 12]}}\n  gamma: -1\n  title: "{{ x }}"\n')
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, NAME)
    # The title fails to render in every expansion: no expansion reaches validation.
    assert [str(p) for p in caught.value.problems] == [
        "specs/paper.yaml:7:5: figures.h{{h}}.title: template error: 'x' is undefined (h=0)"
    ]


# --------------------------------------------------------------------------- files
def write(path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def problems_of(paths) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_specs(paths)
    return [str(p) for p in caught.value.problems]


def test_non_utf8_bytes(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "specs/a.yaml", b"version: 1\nfigures:\n  f:\n    title: caf\xe9\n")
    assert problems_of(["specs"]) == ["specs/a.yaml:4:15: not UTF-8: invalid byte 0xe9; save the file as UTF-8"]


def test_oversized_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "big.yaml", "version: 1\n" + "#" * MAX_BYTES)
    size = MAX_BYTES + 11
    assert problems_of(["big.yaml"]) == [f"big.yaml:1:1: file is {size} bytes; spec files are limited to 1 MiB ({MAX_BYTES} bytes)"]


def test_oversized_text() -> None:
    with pytest.raises(SpecError, match="spec files are limited to 1 MiB"):
        load_spec_text("#" * (MAX_BYTES + 1), NAME)


def test_duplicate_ids_across_files(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "specs/a.yaml", "version: 1\nfigures:\n  attn: {kind: regions}\n")
    write(tmp_path / "specs/sub/b.yaml", "version: 1\nfigures:\n  other: {kind: regions}\n  attn: {kind: regions}\n")
    assert problems_of(["specs"]) == [
        "specs/sub/b.yaml:4:3: figures.attn: duplicate figure id 'attn' (also defined at specs/a.yaml:3:3)"
    ]


def test_problems_of_all_files_are_reported(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "specs/a.yaml", "version: 1\nfigures:\n  f: {kind: regions, gamma: 0}\n")
    write(tmp_path / "specs/b.yml", "")
    write(tmp_path / "specs/c.yaml", "version: 1\nfigures:\n  g: {kind: regions}\n")
    assert problems_of(["specs"]) == [
        "specs/a.yaml:3:22: figures.f.gamma: must be greater than 0, got 0",
        "specs/b.yml:1:1: file is empty; a spec starts with 'version: 1' and 'figures:'",
    ]


def test_missing_path(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert problems_of(["nope.yaml"]) == ["no such file or directory: nope.yaml"]


def test_directory_without_specs(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert problems_of(["empty"]) == ["no *.yaml or *.yml files in empty"]
