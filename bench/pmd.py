"""PMD frame parsing and breathing-from-the-chest costs.

``python -m bench.pmd [SECONDS]``: decodes H10-shaped frames (ECG 73 x 24-bit at 130 Hz;
ACC 36 x 3 x 16-bit, raw and delta-compressed) through :func:`sensors.pmd.parse_frame`
and the whole per-frame path of the source (:meth:`PmdStreams.handle`: parse, sample
times, LSL clock, block), 1,000 random malformed frames (each must raise
``MalformedPayloadError``), and runs :class:`dsp.breathing.respiration.RespirationMonitor` over
SECONDS (600) of simulated chest motion at 25/50/200 Hz. Reference in the same run: the
Heart Rate Measurement parser and the RSA breathing monitor's live step.
"""

import random
import sys
import time

import numpy as np

from bench.common import table
from dsp.breathing import BreathingMonitor
from dsp.breathing.pacer import Pacer, PacerSettings, volumes
from dsp.breathing.respiration import RespirationMonitor
from sensors.base import MalformedPayloadError
from sensors.ble.pmd_streams import PmdStreams, _Active
from sensors.hr_measurement import HeartRateMeasurement, encode, parse
from sensors.pmd import Measurement, encode_frame, parse_frame
from sensors.samples import ACC, ECG
from sensors.virtual.signals import chest_acc_mg, ecg_uv


def per_call_us(fn, payloads, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for p in payloads:
            fn(p)
        best = min(best, (time.perf_counter() - start) / len(payloads))
    return best * 1e6


def frames(n: int) -> dict[str, list[bytes]]:
    t = np.arange(73 * n) / 130.0
    ecg = np.round(ecg_uv(t, np.arange(0.5, t[-1], 0.9)))[:, None]
    ta = np.arange(36 * n) / 50.0
    acc = np.round(chest_acc_mg(ta, 0.5 - 0.5 * np.cos(2 * np.pi * 0.1 * ta)))
    ts = 820_454_400 * 10**9
    out: dict[str, list[bytes]] = {"ecg": [], "acc raw": [], "acc compressed": []}
    for i in range(n):
        e, a = ecg[73 * i : 73 * (i + 1)], acc[36 * i : 36 * (i + 1)]
        out["ecg"].append(encode_frame(Measurement.ECG, ts + i * 561_538_461, e, 0))
        out["acc raw"].append(encode_frame(Measurement.ACC, ts + i * 720_000_000, a, 1))
        out["acc compressed"].append(
            encode_frame(Measurement.ACC, ts + i * 720_000_000, a, 1, compressed=True)
        )
    return out


def main(seconds: float = 600.0) -> None:
    rows = []
    samples = {"ecg": 73, "acc raw": 36, "acc compressed": 36}
    for name, payloads in frames(2000).items():
        us = per_call_us(parse_frame, payloads)
        rows.append((f"parse_frame: {name}", f"{us:.1f} us", f"{samples[name] / us:.2f} M/s"))
    streams = PmdStreams(("ecg", "acc"), "bench", "self")
    streams._active = {  # as after a start: the handle path without a radio
        Measurement.ECG: _Active(ECG, 130.0, 1.0, 14),
        Measurement.ACC: _Active(ACC, 50.0, 1.0, 16),
    }
    arrivals = iter(range(10**9))
    ecg_frames = frames(2000)["ecg"]
    us = per_call_us(lambda p: streams.handle(5000.0 + next(arrivals) * 0.56, p), ecg_frames, 1)
    rows.append(("source path per ECG frame (parse, times, clock, block)", f"{us:.1f} us", ""))
    hr = [encode(HeartRateMeasurement(60, True, None, (1000, 980))) for _ in range(20000)]
    us = per_call_us(parse, hr)
    rows.append(("reference: Heart Rate Measurement parse (2 RR)", f"{us:.2f} us", ""))
    rng = random.Random(1)
    bad = [bytes([rng.choice([0, 2])]) + rng.randbytes(rng.randint(0, 40)) for _ in range(1000)]
    bad += [p[: rng.randint(0, len(p) - 1)] for p in frames(500)["acc compressed"]]
    outcomes = {"parsed": 0, "malformed": 0, "other": 0}
    for p in bad:
        try:
            parse_frame(p)
            outcomes["parsed"] += 1
        except MalformedPayloadError:
            outcomes["malformed"] += 1
        except Exception:
            outcomes["other"] += 1
    rows.append(("random/truncated frames", f"{len(bad)}", str(outcomes)))
    print(table(rows, ("what", "cost", "throughput")))

    rows = []
    pacer = Pacer(PacerSettings(rate_per_min=6.0))
    for fs in (25.0, 50.0, 200.0):
        t = np.arange(0.0, seconds, 1.0 / fs)
        acc = chest_acc_mg(t, volumes(pacer, t), beat_times_s=np.arange(0.4, seconds, 0.85))
        monitor = RespirationMonitor(fs)
        monitor.set_pacer(pacer)
        start = time.perf_counter()
        for i in range(0, t.size, int(fs)):  # one push per second of data, as frames come
            monitor.push(t[i : i + int(fs)], acc[i : i + int(fs)])
        total = time.perf_counter() - start
        rows.append(
            (f"respiration at {fs:g} Hz, 1 step/s", f"{total / seconds * 1e3:.2f} ms per s", "")
        )
    beats = np.cumsum(np.full(int(seconds), 1.0))
    mon = BreathingMonitor()
    start = time.perf_counter()
    for b in beats:
        mon.push(b, 1000.0 + 50.0 * np.sin(0.6 * b))
    total = time.perf_counter() - start
    rows.append(
        ("reference: RSA BreathingMonitor per beat", f"{total / beats.size * 1e6:.0f} us", "")
    )
    print(table(rows, ("what", "cost", "")))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 600.0)
