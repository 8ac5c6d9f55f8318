"""The work an executor runs: plain picklable jobs, and the functions that do them.

A build sends two kinds of work to its executor:

- ``ForwardGroup`` (from ``izzyfig.extract.forwards``): one model and its forwards;
  ``run_group(group)`` loads the model once (a fresh runner where none is given, e.g.
  in a remote worker) and returns the kept attention maps as arrays (``GroupOutcome``);
- ``RenderJob``: one figure's arrays, labels and options; ``render_job`` returns the
  file's bytes (``RenderResult``).

Neither function writes anything: the build writes the cache and the project.
"""
from __future__ import annotations

import io
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

from izzyfig.errors import BuildError, IzzyfigError, IzzyfigWarning, SpecError
from izzyfig.extract.forwards import ForwardGroup, GroupOutcome, run_group

__all__ = ["ForwardGroup", "GroupOutcome", "RenderJob", "RenderResult", "draw", "render_job", "run_group"]


@dataclass(frozen=True)
class RenderJob:
    """Everything needed to draw one figure; plain picklable data.

    ``data`` is the figure's ``FigureData`` (matrices and labels), ``options`` the keyword
    arguments of its renderer, ``output`` the file name the bytes are for (its suffix
    gives the format: ``.pdf``, ``.svg``, ``.png``) and ``label`` the figure's spec
    position, which starts every error message.
    """

    figure_id: str
    kind: str
    data: Any
    options: dict[str, Any]
    output: str
    label: str


@dataclass(frozen=True)
class RenderResult:
    """The bytes of one figure, or why it failed (a message that starts with its position).

    ``warnings`` holds ``(key, message)`` pairs: the spec key blamed, and why.
    """

    figure_id: str
    error: str | None = None
    warnings: tuple[tuple[tuple, str], ...] = ()
    content: bytes | None = None
    worker: str = ""  # where it was drawn, when an executor knows (shown by progress)


def render_job(job: RenderJob) -> RenderResult:
    """Draw ``job`` and return the file's bytes; never raises on a bad figure."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IzzyfigWarning)
            content = figure_bytes(draw(job.kind, job.data, job.options), job.output)
    except SpecError as error:
        return RenderResult(job.figure_id, str(error))
    except IzzyfigError as error:
        return RenderResult(job.figure_id, f"{job.label}: figures.{job.figure_id}: {error}")
    except Exception:  # one broken figure must not stop the others
        detail = traceback.format_exc(limit=-3).strip()
        return RenderResult(job.figure_id, f"{job.label}: figures.{job.figure_id}: internal error\n{detail}")
    return RenderResult(job.figure_id, warnings=caught_warnings(caught), content=content)


def caught_warnings(caught) -> tuple[tuple[tuple, str], ...]:
    """``(key, message)`` of each ``IzzyfigWarning`` among ``caught``, first-seen order, once."""
    found = [(w.message.key, w.message.text) for w in caught if isinstance(w.message, IzzyfigWarning)]
    return tuple(dict.fromkeys(found))


def figure_bytes(figure, output: str) -> bytes:
    """The bytes of a matplotlib ``Figure`` in the format of file name ``output``,
    exactly as ``izzyfig.render.save_figure`` writes them."""
    from izzyfig.render.output import METADATA, output_format
    from izzyfig.render.style import rendering

    fmt = output_format(output)
    buffer = io.BytesIO()
    with rendering():
        figure.savefig(buffer, format=fmt, metadata=METADATA[fmt], dpi=figure.dpi)
    return buffer.getvalue()


def draw(kind: str, data: Any, options: dict[str, Any]):
    """Call the renderer of ``kind`` with the extracted arrays and the spec's options.

    A ``panels`` figure gets one ``FigureData`` per panel in ``data`` and each panel's
    kind and options in ``options["panels"]``.
    """
    from izzyfig import render

    options = dict(options)
    if hasattr(options.get("page"), "model_dump"):  # a page given by its dimensions
        options["page"] = options["page"].model_dump()
    if kind == "panels":
        panels = [(panel["kind"], renderer_arrays(panel["kind"], part),
                   {"boxes": list(part.boxes), **panel["options"]})
                  for panel, part in zip(options.pop("panels"), data)]
        return render.render_panels(panels, **options)
    if kind not in render.RENDERERS:
        raise BuildError(f"no renderer for figure kind '{kind}'")
    keywords = dict(getattr(data, "keywords", ()))  # from the data, not the spec (layer and head indices)
    return render.RENDERERS[kind](*renderer_arrays(kind, data), boxes=list(data.boxes), **keywords, **options)


def renderer_arrays(kind: str, data: Any) -> tuple:
    """The positional arguments of ``render_<kind>`` from a figure's extracted data."""
    first, x, y = data.matrices[0], data.x_labels, data.y_labels
    if kind in ("self-attention", "rollout"):
        return (first, x)
    if kind == "head-summary":
        return (first,)
    if kind == "question-context":
        return (first, x, data.question_end)
    if kind == "comparison":
        return (first, data.matrices[1], x, y)
    return (first, x, y)
