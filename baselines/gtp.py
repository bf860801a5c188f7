"""Go Text Protocol (GTP v2) plumbing shared by the GTP agents (we drive an external engine) and the GTP
server (an external controller drives one of our agents).

Coordinates. Our Go engine indexes points ``action = row * N + col`` with row 0 at the *top*; the pass is
``N * N``. GTP names a point by a column letter ``A..Z`` skipping ``I`` (so at most 25 columns) and a row
number ``1..N`` counted from the *bottom*: on 9x9 action 0 is ``A9``, 8 is ``J9``, 80 is ``J1``.
Vertices are case-insensitive on input and written upper-case; ``pass`` is a vertex, ``resign`` is not (it is
a possible ``genmove`` answer only).

Protocol. A command line is ``[id] name [args...]``; a response is ``=[id] result`` or ``?[id] message``
followed by an empty line. ``parse_command`` applies the spec's preprocessing (control characters dropped,
tabs to spaces, ``#`` comments removed, blank lines ignored); ``format_response`` writes a response.
``GTPProcess`` runs an engine as a subprocess and talks to it line by line with a per-command timeout.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from typing import IO

from zeroleague.envs.go.engine import COLUMNS, MAX_SIZE, MIN_SIZE  # GTP letters (no I) cover exactly the sizes 2..25

COLORS = {"b": 0, "black": 0, "w": 1, "white": 1}
"""GTP colour names (case-insensitive) -> our seats: 0 = black, 1 = white."""
COLOR_NAMES = ("b", "w")


class GTPError(RuntimeError):
    """A GTP engine answered a command with ``? message`` (the protocol itself is still in sync)."""

    def __init__(self, engine: str, command: str, message: str):
        super().__init__(f"GTP engine {engine} rejected {command!r}: {message}")
        self.engine, self.command, self.message = engine, command, message


class GTPEngineError(RuntimeError):
    """A GTP engine could not be started, died, timed out or broke the protocol (the process is unusable)."""


def _check_size(n: int) -> None:
    if not isinstance(n, int) or not MIN_SIZE <= n <= MAX_SIZE:
        raise ValueError(f"GTP supports board sizes {MIN_SIZE}..{MAX_SIZE}, got {n!r}")


def action_to_vertex(action: int, n: int) -> str:
    """Our action index on an ``n`` x ``n`` board -> GTP vertex (``"pass"`` for ``n * n``)."""
    _check_size(n)
    action = int(action)
    if action == n * n:
        return "pass"
    if not 0 <= action < n * n:
        raise ValueError(f"action {action} is not a point or pass of a {n}x{n} board")
    row, col = divmod(action, n)
    return f"{COLUMNS[col]}{n - row}"


def vertex_to_action(vertex: str, n: int) -> int:
    """GTP vertex (any case, ``pass`` included) -> our action index; ValueError naming a bad vertex."""
    _check_size(n)
    v = vertex.strip().upper()
    if v == "PASS":
        return n * n
    col = COLUMNS.find(v[:1]) if v else -1
    digits = v[1:]
    if col < 0 or col >= n or not digits.isdigit() or digits.startswith("0") or not 1 <= int(digits) <= n:
        raise ValueError(f"invalid vertex {vertex!r} for a {n}x{n} board")
    return (n - int(digits)) * n + col


def parse_color(text: str) -> int:
    """GTP colour (``b``/``black``/``w``/``white``, any case) -> seat 0/1; ValueError naming a bad colour."""
    seat = COLORS.get(text.strip().lower())
    if seat is None:
        raise ValueError(f"invalid color {text!r}")
    return seat


def parse_command(line: str) -> tuple[int | None, str, list[str]] | None:
    """One input line -> ``(id, command_name, args)``, or None for a line GTP says to ignore (blank/comment).

    The id is the leading token when it is a non-negative integer. A line that has an id but no command
    yields an empty command name (answered as an error by the server)."""
    cleaned = "".join(c for c in line if c in "\t\n" or (ord(c) >= 32 and ord(c) != 127))
    tokens = cleaned.replace("\t", " ").split("#", 1)[0].split()
    if not tokens:
        return None
    cmd_id = None
    if tokens[0].isdigit():
        cmd_id = int(tokens[0])
        tokens = tokens[1:]
    if not tokens:
        return cmd_id, "", []
    return cmd_id, tokens[0], tokens[1:]


def format_response(cmd_id: int | None, ok: bool, text: str = "") -> str:
    """``=[id] text`` or ``?[id] text`` with the terminating empty line. Blank lines inside ``text`` are
    dropped (they would end the response early), except a blank first line (multi-line results such as
    ``showboard`` conventionally start on the line after ``=``)."""
    first, *rest = text.rstrip("\n").split("\n")
    body = "\n".join([first.strip(), *(line for line in rest if line.strip())])
    head = ("=" if ok else "?") + ("" if cmd_id is None else str(cmd_id))
    return f"{head} {body}\n\n"


def find_binary(name: str, env_var: str | None = None) -> str | None:
    """Path of an engine binary: ``$env_var`` if set, else ``name`` on PATH, else ``/usr/games/name`` (where
    Debian puts GNU Go); None if not found."""
    if env_var and os.environ.get(env_var):
        path = os.environ[env_var]
        return path if os.access(path, os.X_OK) else None
    return shutil.which(name) or shutil.which(name, path="/usr/games")


def _reader(stream: IO[str], lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _kill(proc: subprocess.Popen) -> None:
    """Last-resort shutdown used by the finalizer and after a timeout: kill and reap."""
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class GTPProcess:
    """A GTP engine subprocess, driven line by line.

    ``send(command)`` returns the result text of ``=`` answers and raises ``GTPError`` for ``?`` answers;
    ``submit``/``receive`` split it so several engines can think in parallel. Commands carry increasing ids
    and the echoed id is checked. A process that does not answer within ``timeout`` seconds is killed and
    ``GTPEngineError`` is raised (as when it cannot be started or dies; the message names the command line
    and quotes the end of its stderr). ``close()`` sends ``quit``, then terminates, then kills, and always
    reaps the process; a finalizer kills and reaps it if the object is dropped unclosed.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 60.0,
        label: str | None = None,
        cwd: str | os.PathLike | None = None,
    ):
        self.argv = [str(a) for a in argv]
        self.cmdline = shlex.join(self.argv)
        self.label = label or os.path.basename(self.argv[0])
        self.timeout = float(timeout)
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                cwd=cwd,
            )
        except OSError as e:
            self._stderr.close()
            raise GTPEngineError(f"cannot start GTP engine {self.label} (`{self.cmdline}`): {e}") from e
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        self._lines: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=_reader, args=(self._proc.stdout, self._lines), daemon=True)
        self._thread.start()
        self._next_id = 1
        self._pending: deque[tuple[int, str]] = deque()
        self._closed = False

    @property
    def alive(self) -> bool:
        return not self._closed and self._proc.poll() is None

    def _stderr_tail(self, limit: int = 800) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - limit))
            tail = self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return f"; stderr ends: {tail!r}" if tail else ""

    def _fail(self, what: str) -> GTPEngineError:
        _kill(self._proc)
        err = GTPEngineError(
            f"GTP engine {self.label} {what} (exit code {self._proc.returncode}; `{self.cmdline}`)"
            + self._stderr_tail()
        )
        self.close()
        return err

    def submit(self, command: str) -> None:
        """Write one command (one line, no id of its own) without waiting for the answer."""
        if self._closed:
            raise GTPEngineError(f"engine {self.label} (`{self.cmdline}`) is closed; cannot send {command!r}")
        if "\n" in command or not command.strip():
            raise ValueError(f"a GTP command is one non-empty line, got {command!r}")
        cmd_id = self._next_id
        self._next_id += 1
        try:
            self._proc.stdin.write(f"{cmd_id} {command}\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            raise self._fail(f"died before command {command!r} ({e})") from e
        self._pending.append((cmd_id, command))

    def _readline(self, deadline: float, command: str) -> str:
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise self._fail(f"gave no answer to {command!r} within {self.timeout:g} s") from None
        if line is None:
            raise self._fail(f"exited while answering {command!r}")
        return line.rstrip("\r\n")

    def receive(self) -> str:
        """The answer to the oldest submitted command: its result text, or ``GTPError`` for a ``?`` answer."""
        if not self._pending:
            raise RuntimeError(f"no GTP command pending for {self.label}")
        cmd_id, command = self._pending.popleft()
        deadline = time.monotonic() + self.timeout
        head = ""
        while not head.strip():
            head = self._readline(deadline, command)
        body = [head]
        while True:
            line = self._readline(deadline, command)
            if not line.strip():
                break
            body.append(line)
        status, rest = head[0], head[1:]
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if status not in "=?" or rest[:digits] != str(cmd_id):
            raise self._fail(f"answered {head!r} to {cmd_id} {command!r} (expected ={cmd_id} or ?{cmd_id})")
        first = rest[digits:].strip()
        text = "\n".join(([first] if first else []) + body[1:])
        if status == "?":
            raise GTPError(self.label, command, text)
        return text

    def send(self, command: str) -> str:
        """Send one command and wait for its answer (see ``receive``)."""
        self.submit(command)
        return self.receive()

    def close(self) -> None:
        """Shut the engine down (``quit``, then terminate, then kill) and reap it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        proc = self._proc
        if proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                proc.stdin.write(f"{self._next_id} quit\n")
                proc.stdin.flush()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    _kill(proc)
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()
        self._thread.join(timeout=2)  # the reader ends at EOF, now that the process is gone
        with contextlib.suppress(OSError, ValueError):
            proc.stdout.close()
        self._stderr.close()
        self._finalizer.detach()

    def __enter__(self) -> GTPProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<GTPProcess {self.label} `{self.cmdline}` {'alive' if self.alive else 'closed'}>"
