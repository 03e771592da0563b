import pytest

from app.config import ConfigError, load_config
from app.sources import (
    SourceSpec,
    SourceSpecError,
    build_source,
    default_subjects,
    parse_source_spec,
)
from sensors.simulated import SimulatedSource


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sim", SourceSpec("sim")),
        ("sim:scenario=stress,seed=3", SourceSpec("sim", "", {"scenario": "stress", "seed": "3"})),
        (
            "sim:scenario=paced:6,subject=me",
            SourceSpec("sim", "", {"scenario": "paced:6", "subject": "me"}),
        ),
        ("ble:Polar H10 1A2B3C4D", SourceSpec("ble", "Polar H10 1A2B3C4D")),
        ("ble:A0:9E:1A:00:00:01", SourceSpec("ble", "A0:9E:1A:00:00:01")),
        (
            "ble:A0:9E:1A:00:00:01,subject=client",
            SourceSpec("ble", "A0:9E:1A:00:00:01", {"subject": "client"}),
        ),
    ],
)
def test_specs_parse(text, expected):
    assert parse_source_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("usb:1", "unknown source kind 'usb'"),
        ("ble:", "needs a target"),
        ("sim:seed", "'seed' in 'sim:seed' is not key=value"),
        ("", "unknown source kind ''"),
    ],
)
def test_bad_specs_are_named(text, message):
    with pytest.raises(SourceSpecError, match=message):
        parse_source_spec(text)


def test_build_sim_source_and_subjects():
    specs = [parse_source_spec("sim:seed=1"), parse_source_spec("sim:seed=2,subject=client")]
    assert default_subjects(specs) == ["p1", "client"]
    source = build_source(specs[1], "ignored", speed=0)
    assert isinstance(source, SimulatedSource)
    assert source.subject == "client" and source.speed == 0 and source.simulated
    with pytest.raises(SourceSpecError, match="sim source: unknown sim option 'x'"):
        build_source(parse_source_spec("sim:x=1"), "self")


def test_config_file(tmp_path):
    assert load_config(tmp_path / "missing.toml").sources == ()
    path = tmp_path / "config.toml"
    path.write_text('sources = ["sim:seed=2"]\nspeed = 2\n')
    config = load_config(path)
    assert config.sources == ("sim:seed=2",) and config.speed == 2.0
    for text, message in [
        ("sources = 'sim'", "must be a list of strings"),
        ("speed = -1", "'speed' must be a number >= 0"),
        ("colour = 1", "unknown setting"),
        ("sources = [", "not valid TOML"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(path)
