import stat

import pytest

from app.profiles import Profile, ProfileError, ProfileStore
from dsp.baseline import Baseline

BASELINE = Baseline(64.2, 2.1, 3.6, 0.15, 48, 0.98, 240.0)


def test_profiles_survive_a_restart_with_owner_only_files(tmp_path):
    store = ProfileStore(tmp_path / "profiles")
    path = store.save(Profile("Alex R.", band_widen=0.5).calibrated(BASELINE))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.save(Profile("Sam"))
    again = ProfileStore(tmp_path / "profiles")  # a new process would see the same
    assert again.names() == ["Alex R.", "Sam"]
    loaded = again.load("Alex R.")
    assert loaded.baseline == BASELINE and loaded.band_widen == 0.5 and loaded.calibrated_at
    assert again.load("Sam").baseline is None
    again.delete("Sam")
    assert again.names() == ["Alex R."]


def test_a_corrupt_profile_is_reported_and_never_overwritten(tmp_path):
    store = ProfileStore(tmp_path)
    path = store.save(Profile("Alex").calibrated(BASELINE))
    path.write_text('{"format": 1, "name": "Alex", "baseline": {"hr_bpm": "sixty"')
    corrupt = path.read_bytes()
    with pytest.raises(ProfileError, match=r"cannot be read .* left untouched"):
        store.load("Alex")
    with pytest.raises(ProfileError):
        store.save(Profile("Alex").calibrated(BASELINE))
    assert path.read_bytes() == corrupt
    assert store.names() == ["Alex"]  # still listed, so it can be deleted from the app


def test_missing_and_bad_names(tmp_path):
    store = ProfileStore(tmp_path)
    with pytest.raises(ProfileError, match=r"no profile named 'Kim'.*calibrate first"):
        store.load("Kim")
    with pytest.raises(ProfileError, match="no usable characters"):
        store.path("../..")
    assert store.path("a/b c").name == "a_b_c.json"
    path = store.path("wrong")
    path.write_text('{"format": 1, "name": "x", "baseline": {"hr_bpm": 60}}')
    with pytest.raises(ProfileError, match="lacks 'hr_scale_bpm'"):
        store.load("wrong")


def test_the_listing_shows_names_as_saved_and_rmssd_in_ms(tmp_path, capsys):
    from app.cli import main

    store = ProfileStore(tmp_path)
    store.save(Profile("sam k.").calibrated(BASELINE))
    store.save(Profile("alex r.", band_widen=0.5).calibrated(BASELINE))
    store.save(Profile("Bo"))
    assert store.names() == ["alex r.", "Bo", "sam k."]  # not the file names' order or stems
    assert main(["--profiles", str(tmp_path), "profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["alex r.", "Bo", "sam k."]
    assert "HR 64 bpm, RMSSD 37 ms, band ±0.5" in lines[0]  # exp(3.6) = 36.6 ms
    assert "not calibrated" in lines[1] and "ln RMSSD" not in lines[2]
