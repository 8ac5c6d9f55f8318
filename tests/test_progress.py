"""Progress: tqdm bars on a terminal (rate, ETA, its width), plain lines in logs, the worker of each item."""
from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from dataclasses import replace
from pathlib import Path

from izzyfig.progress import Progress

METER = re.compile(r" \[\d\d:\d\d<(\d\d:\d\d|\?), +[\d.?]+((fig|forward|item)/s|s/(fig|forward|item))\]$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_name_each_item_its_worker_and_the_rate():
    stream = io.StringIO()
    progress = Progress(stream)
    progress.phase("render", 2)
    progress.advance("fig-a", "tcp://127.0.0.1:40417")
    progress.message("a line between items")
    progress.advance("fig-b FAILED")
    lines = stream.getvalue().splitlines()
    assert [METER.sub("", line) for line in lines] == [
        "render: 2 to do",
        "render 1/2 fig-a on tcp://127.0.0.1:40417",
        "a line between items",
        "render 2/2 fig-b FAILED",
    ]
    assert METER.search(lines[1]) and METER.search(lines[3])
    assert "\r" not in stream.getvalue()  # CI logs get whole lines, never redraws


def test_quiet_prints_only_notices():
    stream = io.StringIO()
    progress = Progress(stream, quiet=True)
    progress.phase("forward", 1)
    progress.advance("m 'text'")
    progress.message("summary")
    progress.notice("removed figures/old.pdf")
    assert stream.getvalue() == "removed figures/old.pdf\n"
    terminal = Terminal()
    quiet_bar = Progress(terminal, quiet=True)
    quiet_bar.phase("render", 3)
    quiet_bar.advance("fig")
    assert terminal.getvalue() == ""


def test_a_terminal_gets_one_redrawn_bar_with_rate_eta_and_worker():
    stream = Terminal()
    progress = Progress(stream)
    progress.phase("render", 3)
    progress.advance("fig-a", "worker-1")
    progress.notice("figures/old.pdf removed")  # printed above the bar, which is redrawn
    progress.advance("fig-b", "worker-2")
    progress.advance("fig-c", "worker-1")
    text = stream.getvalue()
    assert "render: 3 to do" not in text and "\r" in text
    frames = [ANSI.sub("", frame) for frame in re.split(r"[\r\n]", text) if frame.strip()]
    last = frames[-1]
    assert re.search(r"^render: 100%\|.+\| 3/3 \[\d\d:\d\d<00:00, +[\d.]+(fig/s|s/fig), fig-c on worker-1\]$", last), last
    assert "figures/old.pdf removed" in frames
    assert text.endswith("\n")  # the finished bar stays as a line
    progress.phase("forward", 0)  # a phase without work draws nothing
    assert stream.getvalue() == text


def test_build_progress_names_the_worker_of_each_render(monkeypatch, capsys, tmp_path: Path):
    import izzyfig.executors.local as local
    from izzyfig.build import Project, build

    sys.path.insert(0, str(Path(__file__).parent / "build"))
    from conftest import SPEC, TOKENS, write_arrays

    write_arrays(tmp_path / "specs" / "arrays")
    (tmp_path / "specs" / "paper.yaml").write_text(SPEC.format(tokens=TOKENS), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    drawn = local.render_job
    monkeypatch.setattr(local, "render_job", lambda job: replace(drawn(job), worker="tcp://127.0.0.1:9"))
    report = build(Project(paths=("specs",)), only=("self", "qc"))
    assert report.built == ["self", "qc"]
    lines = [METER.sub("", line) for line in capsys.readouterr().err.splitlines()]
    assert lines[:3] == ["render: 2 to do", "render 1/2 self on tcp://127.0.0.1:9",
                         "render 2/2 qc on tcp://127.0.0.1:9"]


def test_a_build_on_a_real_terminal_fits_its_width(tmp_path: Path):
    """``izzyfig build`` with stderr on a pseudo-terminal 50 columns wide."""
    sys.path.insert(0, str(Path(__file__).parent / "build"))
    from conftest import SPEC, TOKENS, write_arrays

    write_arrays(tmp_path / "specs" / "arrays")
    (tmp_path / "specs" / "paper.yaml").write_text(SPEC.format(tokens=TOKENS), encoding="utf-8")
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "izzyfig", "build", "specs", "--only", "self,qc,cross"],
                               cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=child, env=dict(os.environ, PYTHONHASHSEED="0"))
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=300) == 0
    os.close(main)
    text = output.decode("utf-8")
    frames = [ANSI.sub("", frame) for frame in re.split(r"[\r\n]", text) if frame.strip()]
    bars = [frame for frame in frames if frame.startswith("render")]
    assert bars and bars[-1].startswith("render: 100%|") and "3/3" in bars[-1], frames
    assert max(len(frame) for frame in bars) <= 50, bars
    assert frames[-1] == "3 built, 0 up to date, 0 failed (0 model load(s), 0 forward pass(es))"
