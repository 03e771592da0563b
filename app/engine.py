"""The engine: one asyncio loop that pulls beats from sources through the pipeline to sinks.

It owns the per-subject pipelines and histories, publishes an immutable
:class:`~app.snapshot.Snapshot` for the UI (at most ``snapshot_hz`` times a second of
wall time), and stops at a deadline on the stream clock so ``--duration`` means the
same at every ``--speed``.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

from app.beat_gate import BeatGate
from app.signals import SignalHub
from app.sinks import Sink
from app.snapshot import (
    CalibrationView,
    Snapshot,
    SubjectHistory,
    SubjectSnapshot,
    SynchronyHistory,
)
from app.streams.specs import SESSION, SYNCHRONY, synchrony_sample
from dsp.beat_result import BeatResult
from dsp.dyad.estimator import SynchronyEstimator
from dsp.dyad.session import SessionSynchronyEstimator
from dsp.dyad.types import SynchronySettings
from dsp.pipeline import PipelineSettings, SubjectPipeline
from dsp.tolerance.baseline import Baseline, Calibration, CalibrationError, CalibrationSettings
from dsp.tolerance.estimator import ArousalSettings
from sensors.base import Beat, BeatSource, SensorError, SourceState, SourceStatus
from sensors.clock import now
from sensors.samples import SampleBlock

PACED_REST = (
    "breathing is paced: a resting baseline needs your own breathing; stop the pacer "
    "(Breathing) and calibrate again"
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    """Engine settings.

    Attributes
    ----------
    pipeline : PipelineSettings
        Per-subject DSP settings.
    history_s : float
        Seconds of beats kept for the UI's tachogram.
    snapshot_hz : float
        Most snapshots published per second of wall time.
    synchrony : SynchronySettings
        Dyad synchrony settings (used when there are exactly two subjects).
    """

    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    history_s: float = 120.0
    snapshot_hz: float = 30.0
    synchrony: SynchronySettings = field(default_factory=SynchronySettings)


@dataclass
class _Subject:
    source: BeatSource
    pipeline: SubjectPipeline
    history: SubjectHistory
    beats_received: int = 0
    failure: SourceStatus | None = None  # set when the source stopped with an error
    task: asyncio.Task | None = None
    calibration: Calibration | None = None
    calibration_done: asyncio.Future | None = None
    calibration_paced: bool = False  # the pacer ran during the rest: refused at the end
    calibration_view: CalibrationView | None = None
    cached: SubjectSnapshot | None = None
    gate: BeatGate | None = None


class Engine:
    """Run sources through per-subject pipelines into sinks.

    Parameters
    ----------
    sources : sequence of BeatSource
        One source per subject (subjects must be distinct).
    sinks : sequence of Sink
        Receivers of every processed beat and status change.
    settings : EngineSettings
        Engine settings.
    pipelines : mapping of str to SubjectPipeline, optional
        Ready-made pipelines for some subjects (offline analysis passes ones whose HRV
        is computed in advance, :func:`dsp.pipeline_batch.precomputed_pipeline`).
    """

    def __init__(
        self,
        sources: Sequence[BeatSource],
        sinks: Sequence[Sink] = (),
        settings: EngineSettings = EngineSettings(),
        pipelines: Mapping[str, SubjectPipeline] | None = None,
    ) -> None:
        subjects = [s.subject for s in sources]
        if len(set(subjects)) != len(subjects):
            raise ValueError(f"each source needs its own subject, got {subjects}")
        if not sources:
            raise ValueError("the engine needs at least one source")
        self.settings = settings
        self.sinks = list(sinks)
        ready = dict(pipelines or {})
        #: ECG and chest acceleration beside the beats (Polar PMD), and breathing from them.
        self.signals = SignalHub(self)
        self._subjects = {
            s.subject: _Subject(
                s,
                ready.get(s.subject) or SubjectPipeline(s.subject, settings.pipeline),
                SubjectHistory(settings.history_s),
            )
            for s in sources
        }
        self._snapshot = Snapshot()
        self._latest_t = math.nan
        self._duration_s = math.inf
        self._deadline = math.inf
        self._clock_offset = 0.0  # stream time minus LSL clock, fixed at the first beat
        self._started = False
        self._errors: list[str] = []
        self.sink_failures: list[str] = []
        self._last_publish = -math.inf
        self._running = False
        self._stop = asyncio.Event()
        self._group: asyncio.TaskGroup | None = None
        self._status_listeners: list = []
        # a dyad: heart-rate synchrony of the first subject (a) and the second (b)
        self._sync: SynchronyEstimator | None = None
        self._session: SessionSynchronyEstimator | None = None
        self._sync_pair: tuple[str, str] = ("", "")
        self._sync_history: SynchronyHistory | None = None
        self._sync_changed = False
        if len(subjects) == 2:
            # the session estimate's confidence interval needs scipy.stats: loaded now,
            # not by a lazy import on the engine loop in the middle of the session
            import scipy.stats  # noqa: F401

            self._sync = SynchronyEstimator(settings.synchrony)
            self._session = SessionSynchronyEstimator(settings.synchrony)
            self._sync_pair = (subjects[0], subjects[1])
            self._sync_history = SynchronyHistory(*subjects, history_s=600.0)
        for s in sources:
            s.add_status_listener(self._on_status)
            self._subjects[s.subject].gate = BeatGate(s.subject)

    def add_status_listener(self, listener) -> None:
        """Call ``listener(source_name, status)`` on every source's status change.

        Called on the engine thread; a Qt signal's ``emit`` is a fine listener.
        """
        self._status_listeners.append(listener)

    @property
    def sources(self) -> list[BeatSource]:
        """The sources, in the order given."""
        return [sub.source for sub in self._subjects.values()]

    @property
    def snapshot(self) -> Snapshot:
        """The newest published snapshot (safe to read from any thread)."""
        return self._snapshot

    @property
    def errors(self) -> list[str]:
        """Errors that stopped a source, worded for the user."""
        return list(self._errors)

    def stop(self) -> None:
        """Ask :meth:`run` to finish (call on the engine loop)."""
        self._stop.set()

    # -- sinks beyond processed beats: raw beats, markers, events, other streams ------
    # Optional sink methods, called when a sink has them: ``write_raw(beat)``,
    # ``write_marker(t, text)``, ``write_event(t, event_dict)`` and
    # ``write_sample(spec, subject, t, values)`` (see app.streams.specs.StreamSink).

    # A sink that raises is closed, logged and dropped; the others go on (one failing
    # outlet or a closed pipe must not end a session or leave a recording unclosed).

    def _to_sinks(self, method: str, *args: object) -> None:
        for sink in self.sinks:
            call = getattr(sink, method, None)
            if call is None:
                continue
            try:
                call(*args)
            except Exception as exc:  # any sink, any failure: isolate it
                self._sink_failed(sink, method, exc)

    def _sink_failed(self, sink: Sink, method: str, exc: Exception) -> None:
        what = f"{type(sink).__name__} failed in {method} ({type(exc).__name__}: {exc})"
        log.error("%s; it was closed, the session goes on", what)
        self.sink_failures.append(what)
        self.sinks = [s for s in self.sinks if s is not sink]
        self._close(sink)

    @staticmethod
    def _close(sink: Sink) -> None:
        try:
            sink.close()
        except Exception as exc:
            log.error("closing %s failed (%s: %s)", type(sink).__name__, type(exc).__name__, exc)

    @property
    def beats_dropped(self) -> int:
        """Beats dropped as duplicated, out of order or implausible, all subjects."""
        return sum(sub.gate.dropped_total for sub in self._subjects.values())

    def mark(self, text: str, t: float | None = None) -> None:
        """Annotate the session (marker hotkeys); ``t`` defaults to now in stream time."""
        self._to_sinks("write_marker", self._stream_now() if t is None else t, text)

    def publish(self, spec: object, subject: str, t: float, values: Sequence) -> None:
        """Send one sample of a declared stream (``app.streams.specs.StreamSpec``) to the sinks."""
        self._to_sinks("write_sample", spec, subject, t, values)

    def _event(self, kind: str, subject: str | None, **data: object) -> None:
        """A session event for the recording and the marker stream (replays re-apply some)."""
        self._to_sinks(
            "write_event", self._stream_now(), {"event": kind, "subject": subject, **data}
        )

    async def add_sink(self, sink: Sink) -> None:
        """Start sending to another sink (LSL toggle, record button); engine loop.

        A sink that takes events first hears the baselines and paced states in force.
        """
        self.sinks = [*self.sinks, sink]
        write = getattr(sink, "write_event", None)
        if write is None:
            return
        t = self._stream_now()
        try:
            for name, sub in self._subjects.items():
                baseline = sub.pipeline.baseline
                if baseline is not None:
                    arousal = asdict(sub.pipeline.settings.arousal)
                    event = {"baseline": baseline.to_dict(), "arousal": arousal}
                    write(t, {"event": "baseline", "subject": name, **event})
                if sub.pipeline.paced:
                    write(t, {"event": "paced", "subject": name, "paced": True})
        except Exception as exc:
            self._sink_failed(sink, "write_event", exc)

    async def remove_sink(self, sink: Sink) -> None:
        """Stop sending to a sink and close it (off the loop: closing may wait for disk)."""
        self.sinks = [s for s in self.sinks if s is not sink]
        await asyncio.to_thread(sink.close)

    async def run(self, duration_s: float | None = None, keep_alive: bool = False) -> None:
        """Stream until every source ends, ``duration_s`` of stream time passes, or stop.

        Parameters
        ----------
        duration_s : float or None
            Session length in seconds of stream time; ``None`` runs until stopped.
        keep_alive : bool
            Keep running when every source has ended (the GUI, where the user can
            connect another strap with :meth:`set_source`).
        """
        self._duration_s = math.inf if duration_s is None else duration_s
        self._deadline = now() + self._duration_s  # until the first beat sets the start
        self._clock_offset = 0.0
        self._running = True
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                for sub in self._subjects.values():
                    self._start_consumer(sub)
                await self._watch(keep_alive)
                for sub in self._subjects.values():
                    if sub.task is not None:
                        sub.task.cancel()
        finally:
            self._group = None
            for sub in self._subjects.values():
                for result in sub.pipeline.flush():
                    self._emit(sub, result)
                self._abandon_calibration(sub)
            self._running = False
            for sink in self.sinks:
                self._close(sink)
            self._publish(force=True)

    async def set_source(self, subject: str, source: BeatSource | None) -> None:
        """Replace (or, with ``None``, disconnect) the source of one subject while running.

        Call on the engine loop, e.g. through ``EngineThread.submit``. The subject's
        history and pipeline carry on; the change shows as a gap.
        """
        sub = self._subjects[subject]
        if sub.task is not None:
            sub.task.cancel()
            await asyncio.wait([sub.task])
        for result in sub.pipeline.flush():
            self._emit(sub, result)
        sub.pipeline.reset()
        sub.failure = None
        sub.cached = None
        if source is None:
            sub.task = None
            self._publish(force=True)
            return
        if source.subject != subject:
            raise ValueError(f"source subject {source.subject!r} is not {subject!r}")
        sub.source = source
        source.add_status_listener(self._on_status)
        self._start_consumer(sub)

    def set_baseline(
        self, subject: str, baseline: Baseline | None, settings: ArousalSettings | None = None
    ) -> None:
        """Estimate a subject's arousal against ``baseline`` (None stops it).

        Call on the engine loop or before :meth:`run`.
        """
        sub = self._subjects[subject]
        if settings is not None:
            sub.pipeline.settings = replace(sub.pipeline.settings, arousal=settings)
        sub.pipeline.set_baseline(baseline)
        sub.cached = None
        self._event(
            "baseline",
            subject,
            baseline=None if baseline is None else baseline.to_dict(),
            arousal=asdict(sub.pipeline.settings.arousal),
        )

    def set_paced(self, paced: bool, subject: str | None = None) -> None:
        """Tell the arousal stage whether breathing is paced (all subjects by default)."""
        for name, sub in self._subjects.items():
            if subject is None or name == subject:
                sub.pipeline.paced = paced
        self._event("paced", subject, paced=paced)

    async def calibrate(
        self, subject: str, settings: CalibrationSettings = CalibrationSettings()
    ) -> Baseline:
        """Take a resting baseline from the subject's next ``settings.duration_s`` seconds.

        Progress shows in the snapshot. Cancelling the task abandons the calibration.

        Raises
        ------
        CalibrationError
            When the rest was too short or too noisy, or breathing is paced (the message
            says what to do).
        """
        sub = self._subjects[subject]
        if sub.pipeline.paced:
            raise CalibrationError(PACED_REST)
        sub.calibration = Calibration(settings)
        sub.calibration_paced = False
        sub.calibration_done = asyncio.get_running_loop().create_future()
        sub.calibration_view = CalibrationView(0.0, settings.duration_s)
        sub.cached = None
        self._event("calibration", subject, phase="start", duration_s=settings.duration_s)
        try:
            return await sub.calibration_done
        finally:
            sub.calibration = None
            sub.calibration_done = None
            sub.cached = None

    def _abandon_calibration(self, sub: _Subject) -> None:
        """The session ended: a calibration still waiting is refused, never left hanging."""
        done = sub.calibration_done
        if done is not None and not done.done():
            done.set_exception(CalibrationError("the session ended before the rest was over"))
        sub.calibration = None

    def _calibrate_with(self, sub: _Subject, result: BeatResult) -> None:
        calibration = sub.calibration
        calibration.push(result)
        duration = calibration.settings.duration_s
        sub.calibration_view = CalibrationView(calibration.elapsed_s, duration)
        sub.calibration_paced |= sub.pipeline.paced
        if not calibration.done or sub.calibration_done.done():
            return
        try:
            if sub.calibration_paced:
                raise CalibrationError(PACED_REST)
            baseline = calibration.finish()
        except CalibrationError as exc:
            sub.calibration_view = CalibrationView(calibration.elapsed_s, duration, None, str(exc))
            sub.calibration_done.set_exception(exc)
            self._event("calibration", sub.source.subject, phase="failed", message=str(exc))
        else:
            sub.calibration_view = CalibrationView(calibration.elapsed_s, duration, baseline)
            sub.calibration_done.set_result(baseline)
            self._event("calibration", sub.source.subject, phase="done", **baseline.to_dict())
        sub.calibration = None

    def _start_consumer(self, sub: _Subject) -> None:
        if self._group is None:
            raise RuntimeError("the engine is not running")
        sub.task = self._group.create_task(self._consume(sub), name=f"source {sub.source.name}")

    async def _watch(self, keep_alive: bool) -> None:
        """Wait for the deadline, a stop request, or (unless kept alive) every source's end."""
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            while not stop.done():
                remaining = self._deadline - self._stream_now()
                if remaining <= 0:
                    break
                active = [s.task for s in self._subjects.values() if s.task and not s.task.done()]
                if not active and not keep_alive:
                    break
                await asyncio.wait(
                    [stop, *active],
                    timeout=min(remaining, 0.2),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                self._publish()
        finally:
            stop.cancel()

    def stream_now(self) -> float:
        """Current stream time, s (the newest beat, or the clock for real-time sources)."""
        return self._stream_now()

    def _stream_now(self) -> float:
        """Current stream time: the newest beat, or the clock for real-time sources."""
        return max(now() + self._clock_offset, self._latest_t)

    def _start_session(self, t: float) -> None:
        """The first beat starts the session: ``--duration`` counts from it."""
        self._started = True
        self._clock_offset = t - now()
        self._deadline = t + self._duration_s

    async def _consume(self, sub: _Subject) -> None:
        source = sub.source
        try:
            async with contextlib.aclosing(source.beats()) as beats:
                async for beat in beats:
                    if isinstance(beat, SampleBlock):  # ECG or acceleration (a Polar strap)
                        if self._started:
                            self.signals.push(beat)
                        continue
                    if not isinstance(beat, Beat):  # a replayed session event: re-apply it
                        beat.apply(self)
                        continue
                    if not self._started:
                        self._start_session(beat.t)
                    if beat.t >= self._deadline:
                        self._stop.set()
                        break
                    sub.beats_received += 1
                    if not sub.gate.admit(beat):
                        continue
                    sub.history.add_raw(beat)
                    self._to_sinks("write_raw", beat)
                    sub.cached = None
                    if not beat.t <= self._latest_t:
                        self._latest_t = beat.t
                    self._process(sub, beat)
                    self._publish()
        except SensorError as exc:
            self._errors.append(f"{source.name}: {exc}")
            sub.failure = SourceStatus(SourceState.FAILED, str(exc), now())
            if source.status.state is not SourceState.FAILED:  # else the source said so
                self._on_status(source.name, sub.failure)

    def _process(self, sub: _Subject, beat: Beat) -> None:
        try:
            results = sub.pipeline.push(beat)
        except ValueError as exc:  # the pipeline refused it: dropped, never fatal
            sub.gate.drop(f"refused by the pipeline: {exc}", beat)
            return
        for result in results:
            self._emit(sub, result)

    def _synchronise(self, result: BeatResult) -> BeatResult:
        """Feed the dyad's synchrony estimators; stamp their newest results on the result.

        The live index every second; the session test once per completed 30-s segment,
        from sums kept as the session goes (never recomputed from the start).
        """
        beat = result.beat
        which = self._sync_pair.index(result.subject)
        ok = result.quality.ok and result.contact is not False
        if self._session.push(which, beat.t, beat.rr_ms, ok, result.gap_before) is not None:
            self._sync_history.session = self._session.latest
            self._sync_changed = True
        session = self._session.latest
        for estimate in self._sync.push(which, beat.t, beat.rr_ms, ok, result.gap_before):
            self._sync_history.add(estimate)
            self._sync_changed = True
            self.publish(SYNCHRONY, SESSION, estimate.t, synchrony_sample(estimate, session))
        latest = self._sync.latest
        # an estimate more than a few seconds old says nothing about this beat
        if latest is not None and beat.t - latest.t > 5.0 + self.settings.synchrony.max_lag_s:
            latest = None
        r = result  # a new result, built directly (dataclasses.replace is slow per beat)
        return BeatResult(
            r.subject, r.beat, r.hrv, r.quality, r.gap_before, r.contact, r.arousal, latest, session
        )

    def _emit(self, sub: _Subject, result: BeatResult) -> None:
        if self._sync is not None:
            result = self._synchronise(result)
        sub.history.add(result)
        if sub.calibration is not None:
            self._calibrate_with(sub, result)
        sub.cached = None
        self._to_sinks("write", result)

    def _on_status(self, source_name: str, status: SourceStatus) -> None:
        sub = next((s for s in self._subjects.values() if s.source.name == source_name), None)
        if sub is None:  # a source replaced by set_source, still saying goodbye
            return
        level = {SourceState.FAILED: logging.ERROR, SourceState.RECONNECTING: logging.WARNING}
        log.log(
            level.get(status.state, logging.INFO),
            "%s (%s): %s %s",
            sub.source.subject,
            source_name,
            status.state.value,
            status.message,
        )
        sub.cached = None
        self._to_sinks("status", sub.source.subject, source_name, status)
        self._event("status", sub.source.subject, state=status.state.value, message=status.message)
        for listener in self._status_listeners:
            listener(source_name, status)
        self._publish(force=True)

    def _publish(self, force: bool = False) -> None:
        """Swap in a new snapshot when something changed, at most ``snapshot_hz`` per second.

        Silence is reported in whole seconds, so a quiet subject changes the snapshot
        once a second, not at every call.
        """
        wall = time.monotonic()
        if not force and wall - self._last_publish < 1.0 / self.settings.snapshot_hz:
            return
        stream_now = self._stream_now()
        changed = force
        for sub in self._subjects.values():
            last = sub.history.last_raw
            silent = float(math.floor(stream_now - last.t)) if last is not None else math.nan
            if sub.cached is not None and silent >= 2.0 and silent != sub.cached.silent_s:
                sub.cached = replace(sub.cached, silent_s=silent)
                changed = True
            if sub.cached is None:
                sub.cached = self._subject_snapshot(sub, silent)
                changed = True
        sync = self._snapshot.synchrony
        if self._sync_history is not None and (self._sync_changed or sync is None):
            sync = self._sync_history.view()
            self._sync_changed = False
            changed = True
        if not changed and self._snapshot.running == self._running:
            return
        self._last_publish = wall
        subjects = tuple(sub.cached for sub in self._subjects.values())
        self._snapshot = Snapshot(
            self._latest_t, subjects, self._running, tuple(self._errors), sync
        )

    def _subject_snapshot(self, sub: _Subject, silent_s: float) -> SubjectSnapshot:
        arousal = sub.pipeline.settings.arousal
        return SubjectSnapshot(
            sub.source.subject,
            sub.source.name,
            getattr(sub.source, "simulated", False),
            sub.failure or sub.source.status,
            sub.beats_received,
            *sub.history.arrays(),
            sub.history.last,
            sub.history.last_raw,
            *sub.history.arousal_arrays(),
            dict(sub.history.zone_seconds),
            sub.pipeline.baseline,
            (arousal.lower, arousal.upper),
            sub.calibration_view,
            silent_s,
        )
