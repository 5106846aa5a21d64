"""nn.load refuses crafted files from their headers, before reading data, naming the file."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import nn


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def header_only(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    """The .npy header of an array of ``shape`` with none of its data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def archive(path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in entries.items():
            out.writestr(name + ".npy", data)


def entries_of(model: nn.MLP) -> dict[str, bytes]:
    return {key: npy(value) for key, value in model.state_dict().items()}


def test_a_header_announcing_billions_of_floats_is_refused_from_the_header(tmp_path):
    path = tmp_path / "huge.npz"
    entries = entries_of(nn.MLP(2, [1]))
    entries["layers.0.neurons.0.w"] = header_only((4_000_000_000,))
    archive(path, entries)
    with pytest.raises(ValueError, match=r"huge.npz: 'layers.0.neurons.0.w' has shape \(4000000000,\), "
                                         r"the model needs \(2,\)"):
        nn.load(nn.MLP(2, [1]), path)


def test_a_small_file_expanding_to_a_gigabyte_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.npz"
    entries = entries_of(nn.MLP(2, [1]))
    entries["extra"] = header_only((1 << 25,)) + bytes(1 << 28)  # 256 MiB of zeros: 256 KB compressed
    archive(path, entries)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"bomb.npz does not fit MLP: missing none, unexpected 'extra'"):
        nn.load(nn.MLP(2, [1]), path)


@pytest.mark.parametrize("where", ["entry data", "central directory"])
def test_one_flipped_byte_is_a_value_error_naming_the_file(tmp_path, where):
    path = tmp_path / "flipped.npz"
    nn.save(nn.MLP(3, [4, 2], seed=0), path)
    with zipfile.ZipFile(path) as zipped:
        info = zipped.infolist()[0]
        central = zipped.start_dir
    # Data starts after the 30-byte local header, the name and the extra field.
    data_start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    offset = data_start + info.file_size - 1 if where == "entry data" else central + 20
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"flipped.npz: "):
        nn.load(nn.MLP(3, [4, 2]), path)


@pytest.mark.parametrize(("text", "problem"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"loss": NaN}', "NaN is not a finite number"),
    ('{"loss": -Infinity}', "-Infinity is not a finite number"),
])
def test_metadata_save_would_refuse_is_refused_by_load(tmp_path, text, problem):
    path = tmp_path / "meta.npz"
    entries = entries_of(nn.MLP(1, [1]))
    entries["__metadata__"] = npy(np.array(text))
    archive(path, entries)
    with pytest.raises(ValueError, match=rf"meta.npz: entry '__metadata__' .*{problem}"):
        nn.load(nn.MLP(1, [1]), path)


def test_text_where_numbers_belong_is_refused(tmp_path):
    path = tmp_path / "text.npz"
    entries = entries_of(nn.MLP(1, [1]))
    entries["layers.0.neurons.0.b"] = npy(np.array("1.0"))
    archive(path, entries)
    with pytest.raises(ValueError, match=r"text.npz: entry 'layers.0.neurons.0.b' holds <U3, not numbers"):
        nn.load(nn.MLP(1, [1]), path)


def test_data_shorter_than_its_header_is_refused(tmp_path):
    path = tmp_path / "short.npz"
    entries = entries_of(nn.MLP(2, [1]))
    entries["layers.0.neurons.0.w"] = header_only((2,)) + bytes(8)
    archive(path, entries)
    with pytest.raises(ValueError, match="short.npz: entry 'layers.0.neurons.0.w' holds fewer bytes"):
        nn.load(nn.MLP(2, [1]), path)


# -- optimizer state ---------------------------------------------------------------------------


def stepped(optimizer: nn.Optimizer, model: nn.MLP, steps: int) -> None:
    for i in range(steps):
        optimizer.zero_grad()
        nn.quadratic(model([0.5, -1.0]), [float(i % 2)]).backward()
        optimizer.step()


def test_adam_state_round_trips_and_the_next_step_is_the_same(tmp_path):
    model, path = nn.MLP(2, [3, 1], seed=1), tmp_path / "ck.npz"
    adam = nn.Adam(model, lr=0.01)
    stepped(adam, model, 3)
    nn.save(model, path, metadata={"epoch": 3}, optimizer=adam)
    again = nn.MLP(2, [3, 1], seed=9)
    resumed = nn.Adam(again, lr=0.01)
    assert nn.load(again, path, optimizer=resumed) == {"epoch": 3}
    assert resumed.steps == 3 and resumed.state == adam.state
    stepped(adam, model, 1)
    stepped(resumed, again, 1)
    assert [p.data for p in again.parameters()] == [p.data for p in model.parameters()]


def test_optimizer_state_survives_compiled_modes_reordering(tmp_path):
    model, path = nn.MLP(2, [3, 1], seed=1), tmp_path / "ck.npz"
    adam = nn.Adam(model, lr=0.01)
    stepped(adam, model, 2)
    by_key = adam.state
    adam.reorder(list(reversed(adam.params)))
    nn.save(model, path, optimizer=adam)
    resumed = nn.Adam(model, lr=0.01)
    nn.load(model, path, optimizer=resumed)
    assert resumed.state == by_key


def test_optimizer_state_of_another_kind_or_missing_is_refused_and_changes_nothing(tmp_path):
    model, path = nn.MLP(2, [1], seed=1), tmp_path / "ck.npz"
    adam = nn.Adam(model, lr=0.01)
    stepped(adam, model, 1)
    nn.save(model, path, optimizer=adam)
    other = nn.MLP(2, [1], seed=2)
    before = [p.data for p in other.parameters()]
    with pytest.raises(ValueError, match="ck.npz: holds the state of a Adam optimizer, not of SGD"):
        nn.load(other, path, optimizer=nn.SGD(other, lr=0.1))
    assert [p.data for p in other.parameters()] == before
    nn.save(model, path)
    with pytest.raises(ValueError, match="ck.npz: holds no optimizer state"):
        nn.load(other, path, optimizer=nn.Adam(other))
    assert json.loads("{}") == nn.load(other, path)
