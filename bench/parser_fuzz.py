"""One million random payloads through the Heart Rate Measurement parser.

``python -m bench.parser_fuzz [N] [SEED]``: N (1,000,000) payloads, half pure random
bytes (0-24 bytes), half random but shaped like real notifications (valid flags, random
fields, 0-9 RR values, sometimes one byte short or long). Reports throughput and how
each payload ended: parsed, ``MalformedPayloadError``, or anything else (must be 0).
"""

import random
import sys
import time
from collections import Counter

from bench.common import table
from sensors.base import MalformedPayloadError
from sensors.hr_measurement import parse


def random_payloads(n: int, seed: int) -> list[bytes]:
    """Pure random bytes, 0-24 long."""
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(0, 24)) for _ in range(n)]


def shaped_payloads(n: int, seed: int) -> list[bytes]:
    """Notification-shaped payloads with random fields and occasional length errors."""
    rng = random.Random(seed + 1)
    out = []
    for _ in range(n):
        flags = rng.randrange(256)
        body = bytearray([flags])
        body += rng.randbytes(2 if flags & 0x01 else 1)
        if flags & 0x08:
            body += rng.randbytes(2)
        if flags & 0x10:
            for _ in range(rng.randint(0, 9)):
                body += rng.randint(0, 3000).to_bytes(2, "little")
        damage = rng.random()
        if damage < 0.1 and body:
            body = body[:-1]
        elif damage < 0.2:
            body.append(rng.randrange(256))
        out.append(bytes(body))
    return out


def fuzz(payloads: list[bytes]) -> tuple[Counter, float]:
    """Parse every payload; count outcomes; return them with the elapsed seconds."""
    outcomes: Counter = Counter()
    start = time.perf_counter()
    for payload in payloads:
        try:
            parse(payload)
        except MalformedPayloadError:
            outcomes["MalformedPayloadError"] += 1
        except Exception as exc:  # the benchmark's point: there must be none
            outcomes[f"other: {type(exc).__name__}"] += 1
        else:
            outcomes["parsed"] += 1
    return outcomes, time.perf_counter() - start


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2024
    half = n // 2
    rows = []
    others = 0
    total_s = 0.0
    for name, payloads in (
        ("random bytes", random_payloads(half, seed)),
        ("notification-shaped", shaped_payloads(n - half, seed)),
    ):
        outcomes, elapsed = fuzz(payloads)
        total_s += elapsed
        other = sum(v for k, v in outcomes.items() if k.startswith("other"))
        others += other
        rows.append(
            (
                name,
                f"{len(payloads):,}",
                f"{outcomes['parsed']:,}",
                f"{outcomes['MalformedPayloadError']:,}",
                f"{other:,}",
                f"{len(payloads) / elapsed:,.0f}",
                f"{elapsed / len(payloads) * 1e6:.2f}",
            )
        )
    print(table(rows, ("payloads", "n", "parsed", "typed error", "other", "per s", "us each")))
    rate = n / total_s
    print(f"total {n:,} payloads in {total_s:.2f} s ({rate:,.0f}/s); other exceptions: {others}")
    return 0 if others == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
