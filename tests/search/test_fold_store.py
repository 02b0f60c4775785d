"""A trial's finished folds survive its process: stored exactly, reused only for the same
trial and point, never retrained."""

import numpy as np

from n3fit_gpu.search.fold_store import FoldStore, remembering, trial_key
from n3fit_gpu.search.kfold import FoldResult


def fold(seed: int) -> FoldResult:
    rng = np.random.default_rng(seed)
    return FoldResult(
        chi2=rng.random(4),
        phi2=float(rng.random()),
        penalties={"positivity": rng.random(4)},
        replica_epochs=123 + seed,
        extra={"ndata": 7, "stop_epoch": np.array([10, 20, 30, 40]), "best": np.inf},
        arrays={"points": np.arange(7), "predictions": rng.random((4, 7))},
        pruned_at=200 if seed else None,
        acceptable=np.array([True, False, True, True]),
    )


def test_a_fold_comes_back_exactly(tmp_path):
    store = FoldStore(tmp_path)
    original = fold(1)
    store.save("k", 0, original, meta={"rungs": [{"epoch": 200, "value": 3.5}]})
    back, meta = store.load("k", 0)
    assert meta == {"rungs": [{"epoch": 200, "value": 3.5}]}
    np.testing.assert_array_equal(back.chi2, original.chi2)  # float64 kept, bit for bit
    np.testing.assert_array_equal(back.penalties["positivity"], original.penalties["positivity"])
    np.testing.assert_array_equal(back.arrays["predictions"], original.arrays["predictions"])
    np.testing.assert_array_equal(back.acceptable, original.acceptable)
    assert (back.phi2, back.replica_epochs, back.pruned_at) == (original.phi2, 124, 200)
    assert back.extra == {"ndata": 7, "stop_epoch": [10, 20, 30, 40], "best": None}  # as logged
    store.drop("k")
    assert store.load("k", 0) is None


def test_keys_name_the_trial_and_its_point():
    assert trial_key(3, {"epochs": 100}) == trial_key(3, {"epochs": 100})
    assert trial_key(3, {"epochs": 100}) != trial_key(3, {"epochs": 101})
    assert trial_key(3, {"epochs": 100}) != trial_key(4, {"epochs": 100})


def test_stored_folds_are_not_trained_again(tmp_path):
    calls = []

    def train(k, running):
        calls.append((k, list(running)))
        return [fold(10 * k + i) for i in running]

    store = FoldStore(tmp_path)
    keys = ["a", "b"]
    first, _ = remembering(train, store, keys, lambda k, i: {"fold": k, "trial": i})
    trained = first(0, [0, 1])
    second, restored = remembering(train, store, keys)
    again = second(0, [0, 1])
    assert calls == [(0, [0, 1])] and restored == {0: {"fold": 0, "trial": 0},
                                                   1: {"fold": 0, "trial": 1}}  # fmt: skip
    for a, b in zip(trained, again):
        np.testing.assert_array_equal(a.chi2, b.chi2)
    second(1, [1])  # fold 1 is not stored: trained
    assert calls[-1] == (1, [1])


def test_a_damaged_file_is_retrained(tmp_path):
    store = FoldStore(tmp_path)
    store.save("k", 0, fold(0))
    path = tmp_path / "k" / "fold_0.npz"
    path.write_bytes(path.read_bytes()[:100])
    assert store.load("k", 0) is None
