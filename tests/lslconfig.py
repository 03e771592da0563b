"""A liblsl configuration that keeps every packet on this machine.

liblsl's default configuration multicasts discovery out of every network card. Tests,
benchmarks and CI write this file and export ``LSLAPICFG`` before the first LSL call.
"""

import os
import secrets
import tempfile
from pathlib import Path

CONFIG = """\
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
KnownPeers = {{127.0.0.1}}
[lab]
SessionID = {session_id}
[log]
level = -2
"""


def use_loopback_lsl() -> Path:
    """Write a loopback-only liblsl config with a random SessionID and export LSLAPICFG.

    Idempotent within one process tree: an already exported config is kept, so child
    processes of a test see the same session.
    """
    existing = os.environ.get("LSLAPICFG")
    if existing and Path(existing).is_file():
        return Path(existing)
    folder = Path(tempfile.mkdtemp(prefix="heartsync-lsl-"))
    path = folder / "lsl_api.cfg"
    path.write_text(CONFIG.format(session_id=f"heartsync-test-{secrets.token_hex(8)}"))
    os.environ["LSLAPICFG"] = str(path)
    return path
