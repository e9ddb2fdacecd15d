"""``python``: run model-written code in a subprocess sandbox.

Layers, strongest available first (``isolation()`` probes once and ``overlay doctor`` shows it):

- a fresh network namespace (``unshare --net``; ``--map-root-user`` when not root): no network;
- when running as root, the code runs as ``nobody`` (``setpriv``), so ``RLIMIT_NPROC`` bounds
  forks and the user's files are out of reach;
- rlimits set before the code starts: CPU seconds, address space, file size, processes, no
  core dumps; a wall-clock timeout kills the whole process group;
- an audit hook refusing fork/exec/subprocess (and sockets when no namespace is available);
- a fresh temporary working directory, deleted afterwards; output truncated.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlayagi.mind.tools.registry import ToolResult

NOBODY = 65534

_BOOTSTRAP = r"""
import resource, sys
cpu, mem, fsize, nproc, block_net = (int(x) for x in sys.argv[1:6])
def limit(kind, value):
    resource.setrlimit(kind, (value, value))
limit(resource.RLIMIT_CPU, cpu)
limit(resource.RLIMIT_AS, mem)
limit(resource.RLIMIT_FSIZE, fsize)
limit(resource.RLIMIT_CORE, 0)
if nproc:
    limit(resource.RLIMIT_NPROC, nproc)
blocked = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.exec",
           "subprocess.Popen", "pty.spawn", "ctypes.dlopen", "os.setuid", "os.setgid"}
if block_net:
    blocked |= {"socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo"}
def hook(event, args, blocked=frozenset(blocked)):
    if event in blocked:
        raise PermissionError(event + " is not allowed in the sandbox")
    if event == "import" and args[0] in ("ctypes", "_ctypes"):
        raise PermissionError("ctypes is not allowed in the sandbox")
sys.addaudithook(hook)
del hook, limit
source = open("main.py", encoding="utf-8").read()
exec(compile(source, "main.py", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
"""


@dataclass(frozen=True)
class Isolation:
    network_namespace: bool
    drop_to_nobody: bool
    prefix: tuple[str, ...]

    def describe(self) -> str:
        net = (
            "network namespace"
            if self.network_namespace
            else "NO network namespace (audit hook only)"
        )
        user = "runs as nobody" if self.drop_to_nobody else "runs as the current user"
        return f"{net}; {user}"


def _works(prefix: list[str], cwd: str | None = None) -> bool:
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-I", "-c", "print(1)"],
            capture_output=True,
            timeout=20,
            cwd=cwd,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == b"1"


@functools.cache
def isolation() -> Isolation:
    """Probe, once per process, the strongest isolation this machine allows."""
    root = os.geteuid() == 0
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    drop = (
        [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
        if (root and setpriv)
        else None
    )
    nets: list[list[str]] = []
    if unshare:
        nets = [[unshare, "--net", "--"]] if root else [[unshare, "--net", "--map-root-user", "--"]]
    for net in [*nets, None]:
        for user in [drop, None] if drop else [None]:
            prefix = [*(net or []), *(user or [])]
            if _works(prefix, cwd="/"):
                return Isolation(net is not None, user is not None, tuple(prefix))
    return Isolation(False, False, ())


def _process_count(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "status").read_text().split("Uid:")[1].split()[0] == str(uid):
                    count += 1
            except (OSError, IndexError):
                continue
    return count


class PythonSandbox:
    name = "python"
    description = (
        "runs Python 3 code in a sandbox (no network, no files kept) and returns what it prints"
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Python source; print the result"}
        },
        "required": ["code"],
        "additionalProperties": False,
    }

    def __init__(
        self,
        *,
        timeout_s: float = 10.0,
        cpu_s: int | None = None,
        memory_mb: int = 256,
        max_output: int = 4000,
        max_processes: int = 8,
    ) -> None:
        self.timeout_s = timeout_s
        self.cpu_s = cpu_s or max(1, int(timeout_s))
        self.memory_mb = memory_mb
        self.max_output = max_output
        self.max_processes = max_processes

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await self.execute(str(arguments.get("code", "")))

    async def execute(self, code: str) -> ToolResult:
        iso = await asyncio.to_thread(isolation)
        workdir = Path(tempfile.mkdtemp(prefix="overlay-sandbox-"))
        try:
            (workdir / "main.py").write_text(code, encoding="utf-8")
            if iso.drop_to_nobody:
                os.chown(workdir, NOBODY, NOBODY)
                os.chown(workdir / "main.py", NOBODY, NOBODY)
                nproc = self.max_processes + _process_count(NOBODY)
            else:
                nproc = self.max_processes + _process_count(os.geteuid())
            args = [
                *iso.prefix,
                sys.executable,
                "-I",
                "-c",
                _BOOTSTRAP,
                str(self.cpu_s),
                str(self.memory_mb * 1024 * 1024),
                str(16 * 1024 * 1024),
                str(nproc),
                "0" if iso.network_namespace else "1",
            ]
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(workdir),
                "LANG": "C.UTF-8",
                "PYTHONIOENCODING": "utf-8",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            return await self._run(args, workdir, env)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _run(self, args: list[str], workdir: Path, env: dict[str, str]) -> ToolResult:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        chunks: list[bytes] = []
        size = 0
        truncated = timed_out = False

        async def read() -> None:
            nonlocal size, truncated
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(4096):
                if size < self.max_output * 4:
                    chunks.append(chunk)
                size += len(chunk)
                if size > self.max_output * 4:
                    truncated = True
                    _kill(proc.pid)
                    return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        try:
            await asyncio.wait_for(read(), self.timeout_s)
            if not truncated:  # output closed; give the process the rest of its time to exit
                await asyncio.wait_for(proc.wait(), max(0.1, deadline - loop.time()))
        except TimeoutError:
            timed_out = True
        finally:
            _kill(proc.pid)
            # Read the pipe to its end: a transport paused on a full buffer never sees EOF,
            # and then wait() never returns.
            with contextlib.suppress(TimeoutError, OSError):
                await asyncio.wait_for(_drain(proc.stdout), 5)
            code = await proc.wait()
        text = b"".join(chunks).decode("utf-8", errors="replace")
        if len(text) > self.max_output:
            text, truncated = text[: self.max_output], True
        if truncated:
            text += "\n[output truncated]"
        if timed_out:
            return ToolResult(f"{text}\n[killed: ran past {self.timeout_s:g}s]".strip(), error=True)
        if code == -signal.SIGXCPU:
            return ToolResult(f"{text}\n[killed: CPU limit of {self.cpu_s}s]".strip(), error=True)
        if code != 0 and not truncated:
            return ToolResult(f"{text}\n[exit code {code}]".strip(), error=True)
        return ToolResult(text.strip() or "(no output)")


async def _drain(stream: asyncio.StreamReader | None) -> None:
    if stream is not None:
        while await stream.read(65536):
            pass


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
