"""Where a local stack keeps everything: one state directory, laid out the same every time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentic_trading.stack.errors import StackError

# Linux limits a unix socket path to 107 bytes (sun_path is 108 with the NUL).
_MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class StackPaths:
    """Every path of one stack, derived from its state directory (always absolute)."""

    state_dir: Path

    @classmethod
    def of(cls, state_dir: Path | str) -> StackPaths:
        return cls(Path(state_dir).expanduser().resolve())

    @property
    def config_dir(self) -> Path:
        return self.state_dir / "config"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def data_dir(self, component: str) -> Path:
        return self.state_dir / "data" / component

    def log_file(self, program: str) -> Path:
        return self.log_dir / f"{program}.log"

    def config_file(self, name: str) -> Path:
        return self.config_dir / name

    @property
    def supervisord_conf(self) -> Path:
        return self.state_dir / "supervisord.conf"

    @property
    def supervisord_log(self) -> Path:
        return self.state_dir / "supervisord.log"

    @property
    def supervisord_pid(self) -> Path:
        return self.state_dir / "supervisord.pid"

    @property
    def socket(self) -> Path:
        return self.state_dir / "supervisor.sock"

    @property
    def stack_json(self) -> Path:
        return self.state_dir / "stack.json"

    def looks_like_stack(self) -> bool:
        """True when the directory holds a stack's files (so deleting it deletes nothing else)."""
        return self.stack_json.exists() or self.supervisord_conf.exists()

    def create(self, data_components: tuple[str, ...] = ()) -> None:
        """Create the directory tree (idempotent)."""
        if len(str(self.socket).encode()) > _MAX_SOCKET_PATH:
            raise StackError(
                f"State directory path too long for supervisord's unix socket ({self.socket}): use a shorter --state-dir"
            )
        for directory in (self.state_dir, self.config_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for component in data_components:
            self.data_dir(component).mkdir(parents=True, exist_ok=True)
