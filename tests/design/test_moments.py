"""Moment points: per cell, the same count, means and cross products as the rows."""

import numpy as np
import pytest

from hglm.design.moments import cell_moments, layout, moment_points, take


@pytest.mark.parametrize("d", [1, 3])
def test_points_have_the_cells_moments(d):
    rng = np.random.default_rng(0)
    rows, cells = 500, 7
    values = rng.normal(size=(rows, d)) * [10.0, 0.1, 3.0][:d] + 300.0
    values[:, 0] = np.round(values[:, 0])              # a column with ties
    cell = rng.integers(0, cells, rows)
    cell[cell == 6] = 5                                # cell 6 without rows: no points
    cell[0] = 6                                        # ... then one row: zero covariance
    moments = cell_moments(values, cell, cells, shift=values.mean(axis=0))
    points, which, counts = moment_points(moments)
    assert len(points) == 2 * d * cells and counts.sum() == pytest.approx(rows)
    for c in range(cells):
        mine, theirs = points[which == c], values[cell == c]
        w = counts[which == c]
        assert w.sum() == pytest.approx(len(theirs))
        np.testing.assert_allclose(w @ mine, theirs.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose((mine * w[:, None]).T @ mine, theirs.T @ theirs, rtol=1e-10)


def test_layout_shares_columns_and_keeps_the_intercept_constant():
    lay = layout(("Intercept", "Days"), [("Intercept", "Days"), ("x",)])
    assert lay.fixed == (-1, 0) and lay.blocks == ((-1, 0), (1,)) and lay.width == 3
    points = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(take(points, lay.fixed), [[1, 0], [1, 3]])
