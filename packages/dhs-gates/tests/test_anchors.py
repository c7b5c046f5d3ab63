"""Anchors against the offline lenscat copy: the seed's SLACS coordinates are flagged with the right separations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dhs_gates import anchor_crossmatch, arc_visibility_snr, read_lenscat, tier_a

from .conftest import NOISE, arc, host

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
LENSCAT = SHARED / "lenscat" / "catalog.csv"
ANCHORS = SHARED / "anchors" / "slacs_anchors.csv"
pytestmark = pytest.mark.skipif(not LENSCAT.is_file(), reason=f"offline lenscat not found at {LENSCAT}")


@pytest.fixture(scope="module")
def lenscat() -> pd.DataFrame:
    return read_lenscat(LENSCAT)


def test_seed_slacs_coordinates_are_all_flagged(lenscat) -> None:
    anchors = pd.read_csv(ANCHORS)
    res = anchor_crossmatch(anchors, lenscat, ra="ra_deg_project_notes", dec="dec_deg_project_notes")
    assert res.status == "failed" and res.value == 10
    got = pd.DataFrame(res.details["anchors"]).set_index("name")
    assert got["flagged"].all()
    np.testing.assert_allclose(got.loc[anchors["name"], "separation_arcsec"], anchors["sep_project_vs_lenscat_arcsec"],
                               atol=0.1)
    assert got["separation_arcsec"].min() > 21 and got["separation_arcsec"].max() < 620
    # two of them lie nearer to *another* lens: matching by name still reports the SLACS lens's offset
    assert (got["nearest_separation_arcsec"] < got["separation_arcsec"] - 1).sum() == 2


def test_lenscat_coordinates_match_and_tier_a_by_grade(lenscat) -> None:
    anchors = pd.read_csv(ANCHORS)
    res = anchor_crossmatch(anchors, lenscat, ra="lenscat_ra_deg", dec="lenscat_dec_deg")
    assert res.status == "passed" and res.value == 0
    assert max(a["separation_arcsec"] for a in res.details["anchors"]) < 0.01
    tier = tier_a(res)
    assert tier.value == 9 and tier.details["rule"] == "lenscat_confident"  # J1016+3859 is 'probable'
    assert not next(a for a in tier.details["anchors"] if a["name"] == "SDSSJ1016+3859")["tier_a"]
    wrong = anchor_crossmatch(anchors, lenscat, ra="ra_deg_project_notes", dec="dec_deg_project_notes")
    assert tier_a(wrong).value == 0 and tier_a(wrong).status == "failed"  # stamps there would miss the lens


def test_anchor_input_errors(lenscat, tmp_path) -> None:
    assert "lacks column" in anchor_crossmatch(pd.DataFrame({"name": ["x"]}), lenscat).reason
    bad = tmp_path / "catalog.csv"
    bad.write_text("name,RA [deg],DEC [deg],grading\nJ0000+0000,abc,1.0,confident\n")
    with pytest.raises(ValueError, match="row 2, column 'ra_deg'"):
        read_lenscat(bad)
    assert tier_a(anchor_crossmatch(pd.DataFrame(), lenscat)).status == "not run"


def test_tier_a_by_arc_visibility_on_the_host_subtracted_image(lenscat) -> None:
    rng = np.random.default_rng(0)
    hosts = [host(rng) + rng.normal(0, NOISE, (3, 64, 64)) for _ in range(2)]
    stamps = np.stack([hosts[0] + arc(rng, 8.0, 0.05), hosts[1]]).astype(np.float32)
    snr = arc_visibility_snr(stamps)
    assert snr[0] > 4 and abs(snr[1]) < 2  # the point-symmetric host cancels: only the arc counts
    anchors = pd.DataFrame({"name": ["SDSSJ0029-0055", "SDSSJ0037-0942"], "ra_deg": [7.28243, 9.47110],
                            "dec_deg": [-0.93070, -9.70508]})
    tier = tier_a(anchor_crossmatch(anchors, lenscat), rule="arc_visibility", stamps=stamps)
    assert tier.value == 1 and [a["tier_a"] for a in tier.details["anchors"]] == [True, False]
    assert "needs one stamp per anchor" in tier_a(anchor_crossmatch(anchors, lenscat), rule="arc_visibility").reason
