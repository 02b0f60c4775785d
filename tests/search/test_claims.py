"""Claims with leases: exclusive claims, atomic stale takeover, own claims taken back at once."""

import os
import threading
import time

import pytest

from n3fit_gpu.search.claims import Claims, read_claims
from n3fit_gpu.search.errors import SearchError
from tests.waiting import wait_for


def _age(path, seconds):
    """Make a claim file look untouched for ``seconds``."""
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_claims_are_exclusive_and_lowest_first(tmp_path):
    a, b = Claims(tmp_path, "a"), Claims(tmp_path, "b")
    assert a.claim_next(range(5)) == 0
    assert b.claim_next(range(5)) == 1
    assert a.claim_next(range(5)) == 2  # a may hold several
    assert a.held == [0, 2] and b.held == [1]
    assert [(c.tid, c.generation, c.worker) for c in read_claims(tmp_path)] == [
        (0, 0, "a"),
        (1, 0, "b"),
        (2, 0, "a"),
    ]
    a.release(0)
    assert b.claim_next(range(5)) == 0
    assert Claims(tmp_path, "c").claim_next([0, 1, 2]) is None  # all live


def test_a_stale_claim_is_taken_over_and_a_live_one_is_not(tmp_path):
    dead, taker = Claims(tmp_path, "dead", lease=60), Claims(tmp_path, "taker", lease=60)
    assert dead.claim_next([0]) == 0
    _age(tmp_path / "0.0.json", 30)
    assert Claims(tmp_path, "early", lease=60).claim_next([0]) is None  # 30 s < lease: live
    _age(tmp_path / "0.0.json", 61)
    assert taker.claim_next([0]) == 0
    assert [(c.generation, c.worker) for c in read_claims(tmp_path)] == [(1, "taker")]
    assert not (tmp_path / "0.0.json").exists()  # the older generation is gone
    dead.touch()  # the dead worker's heartbeat (if it was only slow) finds nothing: no error
    dead.release(0)  # nor does its release
    assert [c.worker for c in read_claims(tmp_path)] == ["taker"]


def test_two_takers_of_one_stale_claim_one_wins(tmp_path):
    for attempt in range(20):
        folder = tmp_path / str(attempt)
        Claims(folder, "dead", lease=5).claim_next([0])
        _age(folder / "0.0.json", 10)
        takers = [Claims(folder, name, lease=5) for name in ("b", "c")]
        barrier, won = threading.Barrier(2), {}

        def take(claims, barrier=barrier, won=won):
            barrier.wait()
            won[claims.worker_id] = claims.claim_next([0])

        threads = [threading.Thread(target=take, args=(t,)) for t in takers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(won.values(), key=str) == [0, None], won
        (winner,) = [name for name, tid in won.items() if tid == 0]
        assert [(c.generation, c.worker) for c in read_claims(folder)] == [(1, winner)]


def test_a_restarted_worker_takes_back_its_own_live_claim_at_once(tmp_path):
    before = Claims(tmp_path, "job-7", lease=600)
    assert before.claim_next(range(3)) == 0 and Claims(tmp_path, "x").claim_next(range(3)) == 1
    restarted = Claims(tmp_path, "job-7", lease=600)  # same id, new process: claim still live
    assert restarted.take_back_own() == [0]
    assert restarted.held == [0]
    assert Claims(tmp_path, "other", lease=600).claim_next([0]) is None
    assert [(c.tid, c.generation, c.worker) for c in read_claims(tmp_path)] == [
        (0, 1, "job-7"),
        (1, 0, "x"),
    ]


def test_touch_renews_the_lease_and_the_heartbeat_touches(tmp_path):
    holder = Claims(tmp_path, "a", lease=0.5)
    holder.claim_next([0])
    _age(tmp_path / "0.0.json", 100)
    holder.touch()
    assert Claims(tmp_path, "b", lease=0.5).claim_next([0]) is None
    _age(tmp_path / "0.0.json", 100)
    with holder.heartbeat():  # a beat every 0.05 s
        wait_for(
            lambda: time.time() - (tmp_path / "0.0.json").stat().st_mtime < 50,
            "the heartbeat to touch the claim",
            interval=0.01,
        )


def test_sweep_removes_claims_of_finished_trials_and_release_all(tmp_path):
    a = Claims(tmp_path, "a")
    for _ in range(3):
        a.claim_next(range(3))
    Claims(tmp_path, "b").sweep({0, 1})
    assert [c.tid for c in read_claims(tmp_path)] == [2]
    a.release_all()
    assert read_claims(tmp_path) == [] and a.held == []


def test_bad_lease_is_refused(tmp_path):
    with pytest.raises(SearchError, match="lease must be > 0"):
        Claims(tmp_path, "a", lease=0)
