"""Saving and loading: round trip, atomic writes, mismatches, refusing pickles."""

import os
import pickle

import numpy as np
import pytest

import nn


def values(model):
    return [p.data for p in model.parameters()]


def test_round_trip(tmp_path):
    path = tmp_path / "model.npz"
    model = nn.MLP(3, [4, 2], output_activation="softmax", seed=1)
    nn.save(model, path)
    other = nn.MLP(3, [4, 2], output_activation="softmax", seed=2)
    assert values(other) != values(model)
    nn.load(other, path)
    assert values(other) == values(model)
    x = [0.1, -0.2, 0.3]
    assert [o.data for o in other(x)] == [o.data for o in model(x)]


def test_file_is_keyed_by_parameter_names(tmp_path):
    path = tmp_path / "model.npz"
    model = nn.MLP(2, [2, 1], seed=0)
    nn.save(model, path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(model.state_dict())
        assert archive["layers.0.neurons.1.w"].tolist() == [p.data for p in model.layers[0].neurons[1].w]
        assert archive["layers.1.neurons.0.b"].shape == ()


def test_save_overwrites_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(nn.MLP(2, [2], seed=0), path)
    nn.save(nn.MLP(2, [2], seed=1), path)
    assert os.listdir(tmp_path) == ["model.npz"]
    model = nn.MLP(2, [2], seed=5)
    nn.load(model, str(path))
    assert values(model) == values(nn.MLP(2, [2], seed=1))


def test_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    nn.save(nn.MLP(2, [2], seed=0), path)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        nn.save(nn.MLP(2, [2], seed=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_loading_into_another_architecture_names_the_mismatch(tmp_path):
    path = tmp_path / "small.npz"
    nn.save(nn.MLP(2, [3, 1]), path)
    with pytest.raises(ValueError) as error:
        nn.load(nn.MLP(2, [4, 1]), path)
    message = str(error.value)
    assert str(path) in message
    assert "missing 'layers.0.neurons.3.w', 'layers.0.neurons.3.b', unexpected none" in message
    bigger = tmp_path / "bigger.npz"
    nn.save(nn.MLP(2, [3, 1, 1]), bigger)
    with pytest.raises(ValueError, match=r"bigger.npz does not fit MLP: missing none, unexpected 'layers.2"):
        nn.load(nn.MLP(2, [3, 1]), bigger)


def test_shape_mismatch_names_key_shapes_and_file(tmp_path):
    path = tmp_path / "wide.npz"
    nn.save(nn.MLP(4, [3]), path)
    model = nn.MLP(2, [3])
    before = values(model)
    with pytest.raises(ValueError) as error:
        nn.load(model, path)
    message = str(error.value)
    assert str(path) in message and "'layers.0.neurons.0.w' has shape (4,), the model needs (2,)" in message
    assert values(model) == before  # nothing loaded half-way


def test_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    state = {k: np.asarray(v) for k, v in nn.MLP(1, [1]).state_dict().items()}
    state["layers.0.neurons.0.b"] = np.array([{"not": "a number"}], dtype=object)
    np.savez(path, **state)
    with pytest.raises(ValueError, match=r"evil.npz: entry 'layers.0.neurons.0.b' holds pickled"):
        nn.load(nn.MLP(1, [1]), path)


def test_refuses_a_raw_pickle_and_other_garbage(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"layers.0.neurons.0.b": 1.0}))
    with pytest.raises(ValueError, match="model.pkl: not a parameter file written by nn.save.*pickled"):
        nn.load(nn.MLP(1, [1]), path)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.npz: not a parameter file"):
        nn.load(nn.MLP(1, [1]), text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single.npy: holds a single array"):
        nn.load(nn.MLP(1, [1]), single)


def test_non_finite_values_are_refused(tmp_path):
    path = tmp_path / "nan.npz"
    state = nn.MLP(1, [1]).state_dict()
    state["layers.0.neurons.0.w"] = np.array([np.nan])
    np.savez(path, **state)
    with pytest.raises(ValueError, match="'layers.0.neurons.0.w' must hold finite numbers"):
        nn.load(nn.MLP(1, [1]), path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        nn.load(nn.MLP(1, [1]), tmp_path / "absent.npz")


def test_metadata_round_trip_and_broken_metadata_changes_nothing(tmp_path):
    path = tmp_path / "checkpoint.npz"
    nn.save(nn.MLP(1, [1], seed=0), path, metadata={"epoch": 3, "losses": [0.5, 0.25]})
    model = nn.MLP(1, [1], seed=1)
    assert nn.load(model, path) == {"epoch": 3, "losses": [0.5, 0.25]}
    assert values(model) == values(nn.MLP(1, [1], seed=0))

    broken = tmp_path / "broken.npz"
    state = nn.MLP(1, [1], seed=0).state_dict()
    np.savez(broken, **state, __metadata__=np.array("{not json"))
    model = nn.MLP(1, [1], seed=1)
    before = values(model)
    with pytest.raises(ValueError, match=r"broken.npz: entry '__metadata__' is not valid JSON"):
        nn.load(model, broken)
    assert values(model) == before  # the parameters were not loaded before the metadata failed
    np.savez(broken, **state, __metadata__=np.array("[1, 2]"))
    with pytest.raises(ValueError, match="JSON text of a dict"):
        nn.load(model, broken)
    with pytest.raises(ValueError, match="metadata must be a dict, got list"):
        nn.save(model, path, metadata=[1, 2])
