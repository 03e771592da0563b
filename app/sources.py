"""Source specs: the ``--source`` strings of the command line and the config file.

``KIND[:TARGET][,key=value...]``, for example ``sim``, ``sim:scenario=stress,seed=3``,
``ble:Polar H10 1A2B3C4D``, ``ble:A0:9E:1A:00:00:01,subject=client``,
``lsl:heartsync client raw RR,subject=client`` (an LSL stream by name or source_id),
``replay:session.xdf`` (every subject of a recording; ``subject=`` picks one, ``as=``
renames it, ``stream=`` picks a third-party stream). For ``sim`` every part after the
colon is options. Targets may contain colons (addresses) and spaces.
"""

import os
import re
from dataclasses import dataclass, field

from sensors.base import BeatSource
from sensors.simulated.dyad import DYAD_SLOW_BPM

KINDS = ("sim", "ble", "lsl", "replay")
_OPTION = re.compile(r",([A-Za-z_]+)=")


class SourceSpecError(ValueError):
    """A source spec that cannot be understood; the message quotes it and says why."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    target : str
        Device name or address, stream name or source_id, or file ("" for ``sim``).
    options : dict of str to str
        ``key=value`` options, e.g. ``subject``.
    """

    kind: str
    target: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def subject(self) -> str | None:
        """The subject named in the options, if any."""
        return self.options.get("subject")


def parse_source_spec(text: str) -> SourceSpec:
    """Parse ``KIND[:TARGET][,key=value...]``.

    Raises
    ------
    SourceSpecError
        When the kind is unknown, a target is missing or an option is malformed.
    """
    kind, _, rest = text.strip().partition(":")
    if kind not in KINDS:
        raise SourceSpecError(
            f"unknown source kind {kind!r} in {text!r}; expected one of {', '.join(KINDS)}"
        )
    if kind == "sim":
        target, option_text = "", ("," + rest if rest else "")
    else:
        match = _OPTION.search(rest)
        target, option_text = (
            (rest[: match.start()], rest[match.start() :]) if match else (rest, "")
        )
        if not target.strip():
            raise SourceSpecError(f"source {text!r} needs a target after '{kind}:'")
    options: dict[str, str] = {}
    for item in filter(None, option_text.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise SourceSpecError(f"option {item!r} in {text!r} is not key=value")
        options[key.strip()] = value.strip()
    return SourceSpec(kind, target.strip(), options)


def build_source(spec: SourceSpec, subject: str, speed: float = 1.0) -> BeatSource:
    """Create the source a spec describes.

    Parameters
    ----------
    spec : SourceSpec
        The parsed spec.
    subject : str
        Subject alias to use when the spec names none.
    speed : float
        Playback speed for simulated and replayed sources (0 = as fast as possible).

    Raises
    ------
    SourceSpecError
        When the options do not fit the source.
    """
    options = dict(spec.options)
    options.setdefault("subject", subject)
    if spec.kind == "sim":
        from sensors.simulated import SimulatedSource, settings_from_options

        try:
            return SimulatedSource(settings_from_options(options), speed=speed)
        except ValueError as exc:
            raise SourceSpecError(f"sim source: {exc}") from None
    if spec.kind == "ble":
        from sensors.ble import BleHeartRateSource

        _only(spec, options, {"subject", "pmd"})
        return BleHeartRateSource(
            spec.target, subject=options["subject"], pmd=pmd_signals(options.get("pmd", ""))
        )
    if spec.kind == "lsl":
        from sensors.lsl_inlet import LslInletSource

        _only(spec, options, {"subject"})
        return LslInletSource(spec.target, subject=options["subject"])
    if spec.kind == "replay":
        sources = build_sources(spec, subject, speed)
        if len(sources) != 1:
            raise SourceSpecError(
                f"{spec.target} holds {len(sources)} subjects; pick one with subject=..."
            )
        return sources[0]
    raise SourceSpecError(f"no source of kind {spec.kind!r}")


def pmd_signals(text: str) -> tuple[str, ...]:
    """``ecg,acc`` (or ``ecg+acc``) as signal keys; "" gives none.

    Raises
    ------
    SourceSpecError
        For a word other than ``ecg`` or ``acc``.
    """
    words = tuple(w.strip().lower() for w in text.replace("+", ",").split(",") if w.strip())
    unknown = [w for w in words if w not in ("ecg", "acc")]
    if unknown:
        raise SourceSpecError(f"pmd: unknown signal(s) {', '.join(unknown)}; use ecg and/or acc")
    return words


def with_pmd(specs: list[SourceSpec], text: str) -> list[SourceSpec]:
    """Ask every Bluetooth source without its own ``pmd=`` for the signals ``text`` names."""
    pmd_signals(text)  # fail early on a typo
    signals = text.replace(",", "+")
    return [
        SourceSpec(s.kind, s.target, {**s.options, "pmd": signals})
        if s.kind == "ble" and "pmd" not in s.options
        else s
        for s in specs
    ]


def build_sources(spec: SourceSpec, subject: str, speed: float = 1.0) -> list[BeatSource]:
    """Create the sources a spec describes: one, or for ``replay:`` one per subject.

    Raises
    ------
    SourceSpecError
        When the options do not fit, or a recording cannot be replayed (the message
        says why, in one line).
    """
    if spec.kind != "replay":
        return [build_source(spec, subject, speed)]
    from sensors.replay import replay_sources
    from sensors.xdf import RecordingError

    _only(spec, spec.options, {"subject", "as", "stream"})
    try:
        return replay_sources(
            spec.target,
            speed,
            subject=spec.options.get("subject"),
            stream=spec.options.get("stream"),
            rename=spec.options.get("as"),
        )
    except RecordingError as exc:
        raise SourceSpecError(f"cannot replay: {exc}") from None


def _only(spec: SourceSpec, options: dict[str, str], allowed: set[str]) -> None:
    unknown = set(options) - allowed
    if unknown:
        raise SourceSpecError(
            f"{spec.kind} source does not take {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def default_subjects(specs: list[SourceSpec]) -> list[str]:
    """Subjects for specs that name none: ``self`` for one person, ``p1``, ``p2``... else.

    (A ``replay:`` spec keeps the subjects recorded in its file.)
    """
    if len(specs) == 1:
        return [specs[0].subject or "self"]
    return [spec.subject or f"p{i + 1}" for i, spec in enumerate(specs)]


def link_dyad(specs: list[SourceSpec]) -> list[SourceSpec]:
    """Join simulated people into a session: distinct seeds, dyad coupling resolved.

    With several ``sim`` sources, each without ``seed=`` gets its position (1, 2, ...)
    so the people differ. A ``sim`` source with ``r=`` (the coupling as a correlation,
    SCIENCE.md §5) follows the other ``sim`` source (or the one whose subject
    ``partner=`` names): ``partner`` becomes that person's seed, that person's options
    travel along as ``partner.KEY`` (their heart rate sets how much must be shared to
    give r), and both get slow HR fluctuations (``slow=``, default
    :data:`DYAD_SLOW_BPM`), e.g. ``--source sim:subject=therapist --source
    sim:subject=client,r=0.5,lag=2``.

    Raises
    ------
    SourceSpecError
        When the partner cannot be found.
    """
    sims = [i for i, spec in enumerate(specs) if spec.kind == "sim"]
    names = default_subjects(specs)  # partner= may name a default subject (p1, p2, ...)
    options = [dict(spec.options) for spec in specs]
    if len(sims) > 1:
        for n, i in enumerate(sims, start=1):
            options[i].setdefault("seed", str(n))
    for i in sims:
        if "r" not in options[i]:
            continue
        partner = options[i].get("partner")
        if partner is not None and partner.lstrip("-").isdigit():
            continue
        others = [j for j in sims if j != i and (partner is None or names[j] == partner)]
        if len(others) != 1:
            wanted = f"subject={partner}" if partner else "one other"
            raise SourceSpecError(
                f"sim source {i + 1} has r= but no {wanted} sim source to follow; "
                "add one, or give partner=SUBJECT or partner=SEED"
            )
        j = others[0]
        for k in (i, j):
            options[k].setdefault("slow", str(DYAD_SLOW_BPM))
        options[i]["partner"] = options[j].setdefault("seed", "0")
        options[i].update({f"partner.{key}": value for key, value in options[j].items()})
    return [SourceSpec(s.kind, s.target, o) for s, o in zip(specs, options, strict=True)]


# -- what the window asks for (it never imports a source class, bleak or pylsl) -------------


async def scan_straps(seconds: float) -> list:
    """Nearby Heart Rate Service straps (``name``, ``address``, ``rssi``), for a picker."""
    from sensors.ble import scan

    return await scan(seconds)


def describe_strap_error(exc: BaseException) -> str:
    """A Bluetooth failure in words a user can act on (adapter off, permission, ...)."""
    from sensors.ble import describe_ble_error

    return describe_ble_error(exc)


def strap_source(address: str, subject: str) -> BeatSource:
    """The source of one Bluetooth strap, by address or name."""
    return build_source(SourceSpec("ble", address, {}), subject)


def recording_sources(path: str | os.PathLike, speed: float = 1.0) -> list[BeatSource]:
    """One replay source per subject of an XDF recording.

    Raises
    ------
    SourceSpecError
        When the file cannot be replayed (the message says why).
    """
    return build_sources(SourceSpec("replay", str(path), {}), "self", speed)
