"""The reference data: sdists read in place, NeuroKit2's frozen outputs still current."""

import numpy as np
import pytest

from tests.neurokit2_reference import compute, input_digests, kubios_inputs, posture_inputs
from tests.reference_data import MissingReference, neurokit2_frozen


def test_frozen_neurokit2_outputs_fit_their_inputs():
    """The inputs NeuroKit2 ran on are still the ones the tests build (by their hash)."""
    try:
        digests = input_digests()
    except MissingReference as exc:
        pytest.skip(str(exc))
    frozen = neurokit2_frozen()
    assert frozen["inputs"] == digests
    assert set(frozen["kubios"]) == set(digests)
    for name, (peaks, _fs) in {**kubios_inputs(), **posture_inputs()}.items():
        flagged = np.asarray(frozen["kubios"][name])
        assert flagged.size > 5 and flagged.min() >= 0 and flagged.max() < peaks.size, name


def test_frozen_neurokit2_outputs_are_current():
    """Runs only where NeuroKit2 is installed (not in the dev extra: it pulls ~250 MB)."""
    pytest.importorskip("neurokit2")
    now = compute()
    frozen = neurokit2_frozen()
    assert now["inputs"] == frozen["inputs"] and now["kubios"] == frozen["kubios"]
    for which, values in frozen["hrv_time"].items():
        assert now["hrv_time"][which] == pytest.approx(values, rel=1e-9)
