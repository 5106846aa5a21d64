"""Slides (one 1280x720 PNG per step, through Graphviz) and the PDF handout (matplotlib's PdfPages)."""

from __future__ import annotations

import struct
import sys

import pytest
from helpers import labelled_chain, labelled_neuron

import autodiff
from autodiff import topological_order
from autodiff.__main__ import main
from autodiff.exporting import slide_source
from autodiff.stepping import steps


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_one_slide_per_step_each_1280x720_and_every_grad_left_as_it_was(tmp_path):
    cost = labelled_chain()
    paths = autodiff.slides(cost, tmp_path / "slides")
    assert [p.name for p in paths] == [f"step_{k:02d}.png" for k in range(19)]  # the start and 18 steps
    assert {png_size(p.read_bytes()) for p in paths} == {(1280, 720)}
    assert len({p.read_bytes() for p in paths}) == 19  # every step looks different
    assert all(node.grad == 0.0 for node in topological_order(cost))


def test_a_slide_shows_the_step_as_the_page_does():
    cost = labelled_chain()
    stepper = steps(cost)
    record = stepper.run()[3]  # step 4: z3
    source = slide_source(cost, 4)
    position = {id(node): k for k, node in enumerate(topological_order(cost))}
    current = f'"n{position[id(record.node)]}" ['
    assert 'penwidth="5"' in source.split(current)[1].split("\n")[0]  # the current node's thick frame
    for c in record.contributions:  # its edges: the local partial and, under it, what flowed
        assert f"{autodiff.naming.printed(c.partial)}\\n" in source
    assert "step 4 of 18" in source and "∂C/∂b3 += ∂z3/∂b3 × ∂C/∂z3" in source


def test_a_slide_draws_each_edge_the_way_the_page_does_and_is_centred(tmp_path):
    import re

    image = pytest.importorskip("matplotlib.image")
    cost = labelled_chain()
    order = topological_order(cost)
    position = {id(node): k for k, node in enumerate(order)}
    page = autodiff.play(cost).html
    lines = {tuple(re.findall(r'"(n\d+)"', line)[:2]): line for line in slide_source(cost, 7).splitlines()
             if " -> " in line}
    paths = re.findall(r'<g class="edge" id="e(\d+)_(\d+)">.*?<path d="([^"]+)"', page)
    assert len(paths) == len(lines) > 10
    for target, index, path in paths:
        source = position[id(order[int(target)].parents[int(index)])]
        line = lines[(f"n{source}", f"n{target}")]
        spline = re.search(r'pos="e,([^"]+)"', line).group(1).split()
        points = re.findall(r"-?[\d.]+,-?[\d.]+", path)
        assert len(spline) == len(points) + 1 and (len(points) - 1) % 3 == 0  # the arrow's end, then the way
        assert 'lp="' in line  # its numbers where the page puts them
    (path,) = autodiff.slides(cost, tmp_path)[7:8]
    ink = (image.imread(path)[..., :3] < 0.9).any(axis=2)
    columns, rows = ink.any(axis=0).nonzero()[0], ink.any(axis=1).nonzero()[0]
    left, right = columns[0], ink.shape[1] - 1 - columns[-1]
    top, bottom = rows[0], ink.shape[0] - 1 - rows[-1]
    assert left > 0 and right > 0 and abs(left - right) <= 12  # nothing cut off, centred
    assert top > 0 and bottom > 0 and abs(top - bottom) <= 40


def test_a_clustered_slide_frames_each_module_as_the_page_does(tmp_path):
    import nn

    model = nn.MLP(2, [3, 1], seed=1)
    loss = (model([0.5, -1.0]) - 1.0) ** 2
    source = slide_source(loss, 0, cluster=True)
    frames = [line for line in source.splitlines() if line.startswith('"frame')]
    titles = sorted(line.split('label="')[1].split('"')[0] for line in frames)
    assert titles == ["layers.0", "layers.1", "neurons.0", "neurons.0", "neurons.1", "neurons.2"]
    assert all('style="dashed,rounded"' in line for line in frames)  # unfilled: the boxes show through
    assert source.index('"frame') < source.index('"n')  # drawn first, behind the boxes
    assert "<B>w.0</B>" in source  # a name within its frame, as on the page
    (path,) = autodiff.slides(loss, tmp_path, cluster=True, between="layers.1.neurons.0.b")[:1]
    assert png_size(path.read_bytes()) == (1280, 720)


def test_the_handout_has_a_page_per_step(tmp_path):
    pytest.importorskip("matplotlib")
    o, *_ = labelled_neuron()
    path = autodiff.handout(o, tmp_path / "handout.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") == 7


def test_without_matplotlib_the_handout_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "scalar-autodiff\[plot\]"'):
        autodiff.handout(labelled_chain(), tmp_path / "handout.pdf")
    assert not (tmp_path / "handout.pdf").exists()


def test_the_command_line_writes_slides_and_a_handout(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    argv = ["play", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "-o", str(tmp_path / "p.html"),
            "--slides", str(tmp_path / "slides"), "--handout", str(tmp_path / "h.pdf"), "--collapse"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "wrote 7 slides" in out and (tmp_path / "h.pdf").exists()
    assert png_size((tmp_path / "slides" / "step_06.png").read_bytes()) == (1280, 720)
