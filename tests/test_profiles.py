"""Profiles: one file per person whatever the name, every field checked, atomic saves."""

import json
import os
import stat
import subprocess
import sys

import pytest

from app.profiles import Profile, ProfileError, ProfileStore
from dsp.tolerance.baseline import Baseline

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


def test_names_that_look_alike_never_share_a_file(tmp_path):
    store = ProfileStore(tmp_path)
    people = ["Zoë", "Zoé", "Zoe", "zoe", "Анна", "李雷", "a/b", "a_b", "../..", "Zoe\u0308"]
    for i, name in enumerate(people):
        store.save(Profile(name, band_widen=i / 10))
    # "Zoe" + combining diaeresis is "Zoë" written another way: the same person (NFC)
    assert len({store.path(n) for n in people}) == len(people) - 1
    assert sorted(store.names(), key=str.casefold) == store.names()
    assert set(store.names()) == set(people) - {"Zoe\u0308"}
    assert store.load("Zoé").band_widen == 0.1 and store.load("Анна").band_widen == 0.4
    assert store.load("Zoë").band_widen == 0.9  # saved last under its other spelling
    assert all(p.parent == tmp_path for p in map(store.path, people))


@pytest.mark.parametrize("name", ["", "   ", "a\x01b", "tab\there", "x" * 81, "\u200b"])
def test_unusable_names_are_refused_before_anything_is_written(tmp_path, name):
    store = ProfileStore(tmp_path)
    with pytest.raises(ProfileError):
        store.save(Profile(name))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("band_widen", "1e400", "finite"),
        ("band_widen", "5", "outside"),
        ("band_widen", "NaN", "not a number"),
        ("band_widen", "true", "not a number"),
        ("name", "42", "not text"),
        ("extra", "[1]", "extra must be an object"),
        ("baseline", '{"hr_bpm": 60}', "lacks"),
        ("baseline", "BASE:hr_bpm=NaN", "not a number"),
        ("baseline", "BASE:hr_bpm=-3", "outside"),
        ("baseline", "BASE:hr_scale_bpm=Infinity", "not a number"),
        ("baseline", "BASE:ln_rmssd_scale=0", "outside"),
        ("extra", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_every_field_is_checked_with_a_clear_error(tmp_path, field, value, says):
    store = ProfileStore(tmp_path)
    good = store.save(Profile("Good").calibrated(BASELINE))
    path = store.path("Bad")
    text = json.loads(Profile("Bad").calibrated(BASELINE).to_json())
    if value.startswith("BASE:"):
        key, _, number = value[5:].partition("=")
        old = f'"{key}": {getattr(BASELINE, key)!r}'
        raw = json.dumps(text).replace(old, f'"{key}": {number}')
    else:
        raw = json.dumps(text).replace(
            f'"{field}": {json.dumps(text[field])}', f'"{field}": {value}'
        )
    assert raw != json.dumps(text)
    path.write_text(raw)
    with pytest.raises(ProfileError, match=says) as info:
        store.load("Bad")
    assert str(path) in str(info.value) and "left untouched" in str(info.value)
    assert path.read_text() == raw  # never rewritten
    assert "Good" in store.names() and store.load("Good").baseline == BASELINE
    assert good.exists()


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
    (listed,) = store.names()  # still listed (by its file), so it can be deleted
    store.delete(listed)
    assert store.names() == []


def test_a_save_cut_short_by_the_disk_leaves_nothing_behind(tmp_path):
    """The disk takes 100 bytes of the new profile, then refuses (a file size limit makes the
    kernel write short, then fail): the old profile stays, no temporary file is left."""
    store = ProfileStore(tmp_path)
    store.save(Profile("Kim").calibrated(BASELINE))
    before = sorted(os.listdir(tmp_path))
    code = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))\n"
        "from pathlib import Path\n"
        "from app.profiles import Profile, ProfileError, ProfileStore\n"
        f"store = ProfileStore(Path({str(tmp_path)!r}))\n"
        "old = store.load('Kim')\n"
        "try:\n"
        "    store.save(Profile('Kim', old.baseline, 'now', 0.3))\n"
        "except ProfileError as exc:\n"
        "    print('refused:', exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.startswith("refused: cannot save profile"), out.stdout + out.stderr
    assert sorted(os.listdir(tmp_path)) == before
    assert store.load("Kim").band_widen == 0.0


def test_a_save_that_fails_mid_write_leaves_nothing_behind(tmp_path):
    """The profile's own file name is taken by a folder: the temporary file is removed."""
    store = ProfileStore(tmp_path)
    store.path("Kim").mkdir(parents=True)
    with pytest.raises(ProfileError):
        store.save(Profile("Kim").calibrated(BASELINE))
    assert [p.name for p in tmp_path.iterdir()] == [store.path("Kim").name]


def test_profiles_saved_under_the_old_naming_are_found_and_moved(tmp_path):
    store = ProfileStore(tmp_path)
    old = tmp_path / "Alex.json"
    old.write_text(Profile("Alex").calibrated(BASELINE).to_json())
    assert store.names() == ["Alex"] and store.load("Alex").baseline == BASELINE
    store.save(store.load("Alex"))
    assert not old.exists() and store.path("Alex").exists()
    assert store.names() == ["Alex"]


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
