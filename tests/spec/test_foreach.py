"""``foreach:`` expands a figure; ids and strings are rendered by sandboxed Jinja2."""
from __future__ import annotations

import pytest
from jinja2.sandbox import SecurityError

from izzyfig.errors import SpecError
from izzyfig.spec import load_spec_text
from izzyfig.spec.template import ENVIRONMENT, STEP_SIZE, StepBudget


def entries(body: str):
    return load_spec_text("version: 1\nfigures:\n" + body, "specs/t.yaml").figures


def test_range_expansion_keeps_native_types() -> None:
    found = entries(
        '  head{{head}}:\n    kind: self-attention\n    foreach:\n      head: {range: [0, 12]}\n'
        '    layer: 3\n    head: "{{head}}"\n    title: "Layer 3 head {{head}}"\n'
    )
    assert [e.id for e in found] == [f"head{h}" for h in range(12)]
    assert [e.figure.head for e in found] == list(range(12))
    assert found[7].figure.title == "Layer 3 head 7"
    assert found[7].expansion == "head=7"


def test_cartesian_product_in_key_order() -> None:
    found = entries(
        '  l{{layer}}h{{head}}:\n    kind: regions\n    foreach:\n      layer: [0, -1]\n'
        '      head: {range: [0, 6, 2]}\n    layer: "{{layer}}"\n    head: "{{ head }}"\n'
    )
    assert [e.id for e in found] == ["l0h0", "l0h2", "l0h4", "l-1h0", "l-1h2", "l-1h4"]
    assert [(e.figure.layer, e.figure.head) for e in found][3] == (-1, 0)
    assert found[3].expansion == "layer=-1, head=0"


def test_list_values_keep_their_type() -> None:
    found = entries(
        "  fig-{{ size[0] }}:\n    kind: regions\n    foreach:\n      size: [[4, 3], [6.5, 4]]\n"
        '    figsize: "{{size}}"\n    title: "size {{ size }}"\n'
    )
    assert [e.id for e in found] == ["fig-4", "fig-6.5"]
    assert [e.figure.figsize for e in found] == [[4.0, 3.0], [6.5, 4.0]]
    assert found[0].figure.title == "size [4, 3]"
    assert found[1].expansion == "size=[6.5, 4]"


def test_both_variables_in_id() -> None:
    found = entries(
        "  s{{i}}-{{ loop_pair }}:\n    kind: question-context\n    foreach:\n      i: [1]\n"
        "      loop_pair: [a, b]\n"
        '    pair: ["{{ loop_pair | upper }}?", "Context {{ i + 1 }}."]\n'
        '    boxes:\n      - tokens: ["{{loop_pair}}", z]\n'
    )
    assert [e.id for e in found] == ["s1-a", "s1-b"]
    assert found[1].figure.pair == ["B?", "Context 2."]
    assert found[1].figure.boxes[0].tokens == ["b", "z"]


def test_plain_figures_are_not_rendered() -> None:
    found = entries('  f:\n    kind: regions\n    title: "{{ not a template }}"\n')
    assert found[0].figure.title == "{{ not a template }}"


def test_expanded_figures_point_at_template() -> None:
    found = entries('  h{{h}}:\n    kind: regions\n    foreach: {h: [1, 2]}\n    head: "{{h}}"\n')
    assert [str(e.position) for e in found] == ["specs/t.yaml:3:3", "specs/t.yaml:3:3"]
    assert str(found[1].position_of("head")) == "specs/t.yaml:6:5"


def test_sandbox_has_no_globals() -> None:
    assert ENVIRONMENT.globals == {}
    with pytest.raises(SpecError, match="'range' is undefined"):
        entries('  h{{h}}:\n    kind: regions\n    foreach: {h: [1]}\n    title: "{{ range(3) }}"\n')


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("h.__class__", "access to attribute '__class__' of 'int' object is unsafe"),
        ("''.__class__.__mro__", "access to attribute '__class__' of 'str' object is unsafe"),
        ("lipsum", "'lipsum' is undefined"),
        ("cycler", "'cycler' is undefined"),
        ("'a' * 100000", "repetition longer than 10000 is not allowed"),
        ("h / 0", "division by zero"),
        ("'x'|center(10**9)", "'center' with a size of 1000000000 is not allowed (the limit is 20000)"),
        ("'x'.ljust(30000)", "'ljust' with a size of 30000 is not allowed (the limit is 20000)"),
        ("'%99999s'|format(h)", "'format' with a size of 99999 is not allowed (the limit is 20000)"),
        ("'{:>99999}'.format(h)", "'format' with a size of 99999 is not allowed (the limit is 20000)"),
        ("('x' * 9999).replace('x', 'x' * 9999)", "'replace' on values of sizes 9999 and 9999 is too much work"),
        ("('x' * 9000) ~ ('y' * 9000) ~ ('z' * 9000)",
         "a template value of more than 20000 characters or items is not allowed"),
        ("('x' * 9000) + ('y' * 9000) + ('z' * 9000)",
         "a template value of more than 20000 characters or items is not allowed"),
    ],
)
def test_sandbox_refusals(expression: str, reason: str) -> None:
    text = f'  h{{{{h}}}}:\n    kind: regions\n    foreach: {{h: [1]}}\n    title: "{{{{ {expression} }}}}"\n'
    with pytest.raises(SpecError) as caught:
        entries(text)
    assert str(caught.value) == f"specs/t.yaml:6:5: figures.h{{{{h}}}}.title: template error: {reason} (h=1)"


def test_one_expression_keeps_its_type() -> None:
    found = entries(
        '  h{{h}}:\n    kind: regions\n    foreach: {h: [1, 2]}\n'
        '    layer: "{{ h - 1 }}"\n    head: "{{ [h, 0] | max }}"\n    title: "{{ \'Head \' ~ h }}"\n'
    )
    assert [(e.figure.layer, e.figure.head, e.figure.title) for e in found] == [(0, 1, "Head 1"), (1, 2, "Head 2")]


def test_a_recursive_macro_runs_out_of_steps() -> None:
    macro = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(30) }}"
    with pytest.raises(SpecError) as caught:
        entries(f'  h{{{{h}}}}:\n    kind: regions\n    foreach: {{h: [1]}}\n    title: "{macro}"\n')
    assert str(caught.value) == (
        "specs/t.yaml:6:5: figures.h{{h}}.title: template error: the templates of this figure take more than "
        "200000 steps (loop iterations, calls, filters); keep templates simple (h=1)"
    )


def test_the_templates_of_a_file_share_a_budget() -> None:
    budget = StepBudget(per_figure=10, per_file=25)
    for _ in range(2):
        budget.start_figure()
        budget.spend(cost=10)
    budget.start_figure()
    with pytest.raises(SecurityError, match="^the templates of this file take more than 25 steps"):
        budget.spend(cost=6)
    with pytest.raises(SecurityError, match="^the templates of this figure take more than 10 steps"):
        StepBudget(per_figure=10, per_file=25).spend(size=11 * STEP_SIZE)
