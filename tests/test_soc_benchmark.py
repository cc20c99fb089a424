"""The SOC benchmark's summaries: changes of the means over clips and the quality targets."""

from __future__ import annotations

import pytest
from benchmark_soc import changes, mean_changes, target_checks


def _row(before: tuple[float, float, float], after: tuple[float, float, float]) -> dict:
    names = ("MSE", "MAD", "flicker")
    return {
        side: dict(zip(names, values, strict=True))
        for side, values in (("before", before), ("after", after))
    }


def test_mean_change_is_the_change_of_the_means_not_the_mean_of_changes() -> None:
    rows = [_row((1.0, 2.0, 4.0), (0.5, 2.0, 5.0)), _row((3.0, 2.0, 4.0), (3.0, 3.0, 3.0))]

    means = mean_changes(rows)

    assert means["MSE"] == pytest.approx(3.5 / 4.0 - 1)  # not (-50% + 0%) / 2
    assert means["MAD"] == pytest.approx(0.25)
    assert means["flicker"] == pytest.approx(0.0)
    assert changes(rows[0]["after"], rows[0]["before"]) == pytest.approx(
        {"MSE": -0.5, "MAD": 0.0, "flicker": 0.25}
    )


def test_targets_met_and_missed() -> None:
    # Mean MSE -20%, the second clip 1% worse, flicker lower: the clip targets are met.
    rows = [_row((1.0, 1.0, 1.0), (0.59, 1.0, 0.9)), _row((1.0, 1.0, 1.0), (1.01, 1.0, 0.9))]

    met = [ok for _, _, ok in target_checks(rows, [0.01, 0.05])]
    assert met == [True, True, True, True]

    worse = [_row((1.0, 1.0, 1.0), (0.5, 1.0, 1.1)), _row((1.0, 1.0, 1.0), (1.03, 1.0, 1.0))]
    checks = target_checks(worse, [0.01, 0.06])
    assert [ok for _, _, ok in checks] == [True, False, False, False]
    assert [value for _, value, _ in checks] == pytest.approx([-0.235, 0.03, 0.05, 0.06])
