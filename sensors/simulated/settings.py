"""What the simulated person and strap do: :class:`SimSettings` and ``sim:`` spec options.

The settings are a frozen dataclass with units in the field names; a ``sim:key=value,...``
source spec becomes one through :func:`settings_from_options`.
"""

import dataclasses
import math
from dataclasses import dataclass

__all__ = ["ARTIFACT_KINDS", "SCENARIOS", "SimSettings", "settings_from_options"]

SCENARIOS = ("rest", "stress", "vagal", "low", "paced", "dropout", "posture")
ARTIFACT_KINDS = ("ectopic", "missed", "extra")


@dataclass(frozen=True)
class SimSettings:
    """What the simulated person and strap do.

    Attributes
    ----------
    seed : int
        Random seed; equal settings give identical RR series.
    hr_bpm : float
        Resting mean heart rate, beats/min.
    rsa_ms : float
        Amplitude of respiratory sinus arrhythmia at rest, ms (half peak-to-peak).
    lf_ms : float
        Amplitude of the ~0.1 Hz baroreflex oscillation, ms.
    noise_ms : float
        Standard deviation of beat-to-beat white noise, ms.
    breath_per_min : float
        Spontaneous breathing rate, breaths/min (varies +-10% unless paced).
    resonance_per_min : float
        Breathing rate at which RSA is largest (resonance), breaths/min.
    scenario : str
        ``rest``, ``stress`` (HR +12 bpm, RMSSD x0.6), ``vagal`` (HR +3 bpm, RMSSD x0.6),
        ``low`` (HR -8 bpm), ``paced`` (breathing at ``paced_per_min``), ``dropout``
        (no notifications for ``gap_s``) or ``posture`` (standing up: HR +15 bpm and
        RMSSD x0.5, each way a 20-s ramp; lying back down at the end of the step, the HR
        falls 15 bpm over 20 s while RMSSD doubles). The event starts at ``onset_s``.
    onset_s : float
        Start of the scenario's event, seconds after the session starts.
    step_s : float
        Duration of a step or of paced breathing, s.
    paced_per_min : float
        Paced breathing rate, breaths/min.
    gap_s : float
        Length of the dropout, s.
    artifact_rate : float
        Fraction of beats turned into an artifact (ectopic, missed or extra at
        random). Up to 0.05 the sites are at least 10 beats apart (the ground-truth
        recipe of SCIENCE.md §2); higher rates (a loose strap) pack them closer.
    drift_bpm : float
        Amplitude of a slow (60 min period) resting HR drift, beats/min.
    latency_ms : float
        Mean radio latency of a notification, ms (exponential, plus 5 ms minimum).
    subject : str
        Subject alias stamped on the beats.
    slow_bpm : float
        RMS of slow heart-rate fluctuations (mostly below 0.15 Hz, the part of HR that moves
        with a person's state and that synchrony measures), beats/min. 0 (default)
        leaves them out.
    r : float
        Dyad mode: the coupling, as the correlation (0-1) of this person's and the
        partner's 4 Hz heart rate at the true lag, as the synchrony detector sees it
        (every 30 s linearly detrended), expected over a session (SCIENCE.md §5). Part of
        this person's slow fluctuation follows the partner's, as much as gives this r
        (:func:`sensors.simulated.coupling.follow_share`); 0 = independent.
    lag_s : float
        Dyad mode: how many seconds this person's slow HR trails the partner's, s.
    partner : SimSettings or None
        Dyad mode: the partner (whose slow HR this person follows).
    """

    seed: int = 0
    hr_bpm: float = 65.0
    rsa_ms: float = 35.0
    lf_ms: float = 25.0
    noise_ms: float = 10.0
    breath_per_min: float = 12.0
    resonance_per_min: float = 5.5
    scenario: str = "rest"
    onset_s: float = 300.0
    step_s: float = 180.0
    paced_per_min: float = 6.0
    gap_s: float = 10.0
    artifact_rate: float = 0.0
    drift_bpm: float = 1.0
    latency_ms: float = 30.0
    subject: str = "self"
    slow_bpm: float = 0.0
    r: float = 0.0
    lag_s: float = 0.0
    partner: "SimSettings | None" = None

    def __post_init__(self) -> None:
        problems = []
        if self.scenario not in SCENARIOS:
            problems.append(f"scenario {self.scenario!r} is not one of {', '.join(SCENARIOS)}")
        if not 25 <= self.hr_bpm <= 220:
            problems.append(f"hr {self.hr_bpm!r} bpm is outside 25-220")
        if not 0 <= self.r < 1:
            problems.append(f"r {self.r!r} is outside 0-1")
        if not 0 <= self.lag_s <= 30:
            problems.append(f"lag {self.lag_s!r} s is outside 0-30")
        if self.r > 0 and self.partner is None:
            problems.append("r needs a partner (partner=SEED or the other sim subject)")
        if not 0 <= self.artifact_rate <= 0.3:
            problems.append(f"artifacts {self.artifact_rate!r} is outside 0-0.3")
        for name in (
            "rsa_ms",
            "lf_ms",
            "noise_ms",
            "latency_ms",
            "onset_s",
            "step_s",
            "gap_s",
            "slow_bpm",
        ):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} {getattr(self, name)!r} must be >= 0")
        for name in ("breath_per_min", "paced_per_min", "resonance_per_min"):
            if not 1 <= getattr(self, name) <= 60:
                problems.append(f"{name} {getattr(self, name)!r} is outside 1-60 breaths/min")
        if problems:
            raise ValueError("; ".join(problems))


def settings_from_options(options: dict[str, str]) -> SimSettings:
    """Build :class:`SimSettings` from ``sim:`` source-spec options.

    Keys: ``seed``, ``hr``, ``rsa``, ``lf``, ``noise``, ``breath``, ``resonance``,
    ``scenario`` (``paced:6`` sets the paced rate too), ``onset``, ``step``, ``gap``,
    ``artifacts``, ``subject``; dyad mode: ``slow`` (slow HR fluctuation, bpm RMS),
    ``r`` (the coupling as a correlation, 0-1), ``lag`` (s) and ``partner`` (the
    partner's seed). The command line fills ``partner`` in from the other ``sim`` source
    and passes that person's own options as ``partner.KEY`` (see
    :func:`app.sources.link_dyad`); without them the partner is a default person with
    this one's ``slow``.

    Raises
    ------
    ValueError
        Naming the bad key or value.
    """
    names = {
        "seed": ("seed", int),
        "hr": ("hr_bpm", float),
        "rsa": ("rsa_ms", float),
        "lf": ("lf_ms", float),
        "noise": ("noise_ms", float),
        "breath": ("breath_per_min", float),
        "resonance": ("resonance_per_min", float),
        "scenario": ("scenario", str),
        "onset": ("onset_s", float),
        "step": ("step_s", float),
        "gap": ("gap_s", float),
        "artifacts": ("artifact_rate", float),
        "subject": ("subject", str),
        "slow": ("slow_bpm", float),
        "r": ("r", float),
        "lag": ("lag_s", float),
        "partner": ("partner", int),
    }
    values: dict[str, object] = {}
    prefix = "partner."
    partner = {k[len(prefix) :]: v for k, v in options.items() if k.startswith(prefix)}
    options = {k: v for k, v in options.items() if not k.startswith(prefix)}
    for key, text in options.items():
        if key not in names:
            raise ValueError(f"unknown sim option {key!r}; expected one of {', '.join(names)}")
        field_name, kind = names[key]
        if key == "scenario" and text.startswith("paced:"):
            text, _, rate = text.partition(":")
            values["paced_per_min"] = _convert("scenario", rate, float)
        values[field_name] = _convert(key, text, kind)
    if "partner" in values:  # the partner as the command line describes it, or a default
        partner.setdefault("slow", options.get("slow", "0"))
        partner = {k: v for k, v in partner.items() if k not in ("r", "lag", "partner")}
        seed = values["partner"]
        values["partner"] = dataclasses.replace(settings_from_options(partner), seed=seed)
    return dataclasses.replace(SimSettings(), **values)


def _convert(key: str, text: str, kind: type) -> object:
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"sim option {key}={text!r} is not a valid {kind.__name__}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"sim option {key}={text!r} must be finite")
    return value
