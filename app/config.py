"""Settings of the application: one :class:`AppConfig` from TOML, overridden by the CLI.

The file lives in the user's config folder (``heartsync config-path`` prints it)::

    sources = ["ble:Polar H10 1A2B3C4D"]   # what the GUI connects to; empty = simulator
    speed = 1.0
    history = true            # keep every session (docs/history.md); false: keep nothing
    history_keep_days = 365   # older sessions are offered for deletion (never silently)
    history_max_gb = 5.0      # beyond this the oldest are offered for deletion
"""

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

import platformdirs

APP_NAME = "heartsync"


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the value."""


@dataclass(frozen=True)
class AppConfig:
    """Application settings.

    Attributes
    ----------
    sources : tuple of str
        Source specs (see :mod:`app.sources`); empty means the simulated strap.
    speed : float
        Playback speed of simulated and replayed sources (1 = real time, 0 = fastest).
    history : bool
        Keep every session (recording and summary) in the history.
    history_keep_days : float
        Sessions older than this are offered for deletion, days.
    history_max_gb : float
        Disk use beyond which the oldest sessions are offered for deletion, GB.
    """

    sources: tuple[str, ...] = ()
    speed: float = 1.0
    history: bool = True
    history_keep_days: float = 365.0
    history_max_gb: float = 5.0


def default_config_path() -> Path:
    """Where the config file lives for this user."""
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def load_config(path: Path | None = None) -> AppConfig:
    """Read the config file; a missing file gives the defaults.

    Raises
    ------
    ConfigError
        For unreadable TOML, unknown keys or values of the wrong type.
    """
    path = default_config_path() if path is None else path
    if not path.exists():
        return AppConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    known = {f.name for f in fields(AppConfig)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    sources = data.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ConfigError(f"{path}: 'sources' must be a list of strings, got {sources!r}")
    speed = data.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or speed < 0:
        raise ConfigError(f"{path}: 'speed' must be a number >= 0, got {speed!r}")
    history = data.get("history", True)
    if not isinstance(history, bool):
        raise ConfigError(f"{path}: 'history' must be true or false, got {history!r}")
    limits = {}
    for key in ("history_keep_days", "history_max_gb"):
        value = data.get(key, getattr(AppConfig, key))
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigError(f"{path}: {key!r} must be a number > 0, got {value!r}")
        limits[key] = float(value)
    return AppConfig(tuple(sources), float(speed), history, **limits)


def save_config(config: AppConfig, path: Path | None = None) -> Path:
    """Write the config file, readable by its owner only; returns its path.

    Raises
    ------
    ConfigError
        When the file cannot be written (the message names it and the reason).
    """
    path = default_config_path() if path is None else path
    sources = ", ".join(_toml_string(s) for s in config.sources)
    text = (
        f"sources = [{sources}]\nspeed = {config.speed!r}\n"
        f"history = {'true' if config.history else 'false'}\n"
        f"history_keep_days = {config.history_keep_days!r}\n"
        f"history_max_gb = {config.history_max_gb!r}\n"
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.chmod(0o600)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot save settings to {path}: {exc.strerror or exc}") from None
    return path


def _toml_string(text: str) -> str:
    """A TOML basic string (escapes backslashes, quotes and control characters)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'
