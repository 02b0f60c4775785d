"""Greedy ensemble selection on a tiny fixed set of members, checked against hand computation.

Two points, central values 0, covariance diag(1, 4): a prediction p has whitened residual
w = (p_1, p_2 / 2) and chi2/N = |w|^2 / 2. Three trials of two replicas, given by w:

    trial 0:  (1, 0)  (1, 0)     chi2 0.5, 0.5    mean (1, 0)      chi2_mean 0.5
    trial 1:  (-1, 1) (0, -1)    chi2 1.0, 0.5    mean (-0.5, 0)   chi2_mean 0.125
    trial 2:  (0, 2)  (-2, 0)    chi2 2.0, 2.0    mean (-1, 1)     chi2_mean 1.0

Every number below is exact in binary floating point.
"""

import numpy as np
import pytest

from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.selection import Members, pareto_front, select_ensemble
from n3fit_gpu.search.statistics import chi2_per_replica, phi2

CENTRAL = np.zeros(2)
COVARIANCE = np.diag([1.0, 4.0])
WHITENED = {
    (0, 1): (1, 0), (0, 2): (1, 0),
    (1, 1): (-1, 1), (1, 2): (0, -1),
    (2, 1): (0, 2), (2, 2): (-2, 0),
}  # fmt: skip
COST = {0: 1.0, 1: 3.0, 2: 0.5}  # per replica of each trial (e.g. network weights)


def members(order=None) -> Members:
    pairs = list(order or WHITENED)
    predictions = [(WHITENED[p][0], 2 * WHITENED[p][1]) for p in pairs]
    return Members.build(
        [t for t, _ in pairs], [r for _, r in pairs], predictions, [COST[t] for t, _ in pairs]
    )


def chosen(selection) -> list[tuple[int, int]]:
    m = members()
    return m.pairs(selection.chosen.rows)


def test_trials_by_chi2_of_the_mean():
    # step 1: trial 1 (0.125). step 2: + trial 0 -> mean (1, 0)/4, chi2 1/32; + trial 2 ->
    # (-3, 2)/4, 13/32. step 3: + trial 2 -> (-1, 2)/6, 5/72 > 1/32: stop.
    selection = select_ensemble(members(), CENTRAL, COVARIANCE)
    assert chosen(selection) == [(1, 1), (1, 2), (0, 1), (0, 2)]
    assert [e.scores.chi2_mean for e in selection.path] == [0.125, 1 / 32]
    assert [e.replicas for e in selection.path] == [2, 4]
    end = selection.chosen.scores
    assert end.chi2_replicas == (0.5 + 0.5 + 1.0 + 0.5) / 4
    assert end.phi2 == end.chi2_replicas - 1 / 32
    assert selection.chosen.cost == 2 * 3.0 + 2 * 1.0


def test_scores_agree_with_the_statistics_module():
    selection = select_ensemble(members(), CENTRAL, COVARIANCE)
    rows = list(selection.chosen.rows)
    predictions = members().predictions[rows]
    scores = selection.chosen.scores
    assert scores.chi2_replicas == pytest.approx(
        chi2_per_replica(predictions, CENTRAL, COVARIANCE).mean()
    )
    assert scores.phi2 == pytest.approx(phi2(predictions, CENTRAL, COVARIANCE))


def test_trials_by_mean_replica_chi2_stop_when_nothing_improves():
    # trial 0 (0.5) first; + trial 1 gives (1 + 1.5) / 4 = 0.625 > 0.5: stop
    selection = select_ensemble(members(), CENTRAL, COVARIANCE, "chi2_replicas")
    assert chosen(selection) == [(0, 1), (0, 2)]


def test_a_budget_stops_at_the_first_trial_that_does_not_fit():
    selection = select_ensemble(members(), CENTRAL, COVARIANCE, max_replicas=3)
    assert chosen(selection) == [(1, 1), (1, 2)]
    with pytest.raises(SearchError, match="no trial fits in max_replicas=1"):
        select_ensemble(members(), CENTRAL, COVARIANCE, max_replicas=1)


def test_single_replicas_ties_go_to_the_lowest_tid_and_replica():
    # step 1: (0,1), (0,2), (1,2) tie at 0.5 -> (0,1). step 2: + (1,1) -> (0, 1)/2 and
    # + (2,2) -> (-1, 0)/2 tie at 0.125 -> (1,1). step 3: + (1,2) -> (0, 0): 0. step 4: stop.
    selection = select_ensemble(members(), CENTRAL, COVARIANCE, replica_level=True)
    assert chosen(selection) == [(0, 1), (1, 1), (1, 2)]
    assert [e.scores.chi2_mean for e in selection.path] == [0.5, 0.125, 0.0]
    assert selection.chosen.scores.chi2_replicas == pytest.approx(2 / 3)
    budget = select_ensemble(members(), CENTRAL, COVARIANCE, max_replicas=2, replica_level=True)
    assert chosen(budget) == [(0, 1), (1, 1)]


def test_member_order_does_not_matter():
    shuffled = [(2, 2), (0, 2), (1, 1), (2, 1), (0, 1), (1, 2)]
    for level in (False, True):
        a = select_ensemble(members(), CENTRAL, COVARIANCE, replica_level=level)
        b = select_ensemble(members(shuffled), CENTRAL, COVARIANCE, replica_level=level)
        assert a == b


def test_pareto_fronts_over_path_and_trials_alone():
    # candidates: path (trial 1: 2 replicas, cost 6, 0.125; + trial 0: 4, 8, 1/32), then each
    # trial alone (0: 2, 2, 0.5; 1: 2, 6, 0.125, same as the first path step; 2: 2, 1, 1.0)
    selection = select_ensemble(members(), CENTRAL, COVARIANCE)
    path, alone = selection.path, selection.units
    assert selection.front_replicas == (path[0], path[1])
    assert selection.front_cost == (alone[2], alone[0], path[0], path[1])


def test_pareto_front_by_hand():
    points = [(3.0, 1), (2.0, 2), (2.5, 3), (2.0, 2), (1.0, 5), (1.0, 6), (0.5, 1)]
    # (0.5, 1) dominates (3.0, 1); (2.0, 2) twice: the first kept; (2.5, 3) and (1.0, 6)
    # dominated; front ordered by the second objective
    assert pareto_front(points) == [6]
    assert pareto_front(points[:6]) == [0, 1, 4]


def test_members_are_checked():
    with pytest.raises(SearchError, match="finite"):
        Members.build([0], [1], [[np.nan, 0.0]])
    with pytest.raises(SearchError, match="twice"):
        Members.build([0, 0], [1, 1], np.zeros((2, 2)))
    with pytest.raises(SearchError, match="one each"):
        Members.build([0, 1], [1], np.zeros((2, 2)))
    with pytest.raises(SearchError, match="unknown criterion"):
        select_ensemble(members(), CENTRAL, COVARIANCE, "phi2")
