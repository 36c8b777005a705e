"""Start and stop a throwaway single-node SLURM cluster for the tests.

Everything (munge key and socket, slurm.conf, state, logs) lives in one
directory; clients find the cluster through the SLURM_CONF variable in
``SlurmCluster.env`` (which also puts an ``srun`` shim first on PATH, see
``_write_config``). The daemons run in the foreground as our children, so
``stop()`` ends the processes ``start()`` launched by pid, after cancelling
leftover jobs and waiting for (or killing, by pid) their slurmstepd.

There is no systemd, hence the daemons are started by hand with settings
that need neither cgroups nor an accounting database: proctrack/linuxproc,
task/none, accounting_storage/none. Fake GPUs (``Gres=gpu:N``, one plain
file each) let ``--gpus=1`` jobs schedule; ``SlurmdParameters=
config_overrides`` lets the node claim more CPUs/memory than the machine has.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")
APT_PACKAGES = ("slurm-wlm", "munge")


def _missing_binaries() -> list[str]:
    # Debian puts the daemons in /usr/sbin, which a non-login PATH may lack.
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    return [b for b in DAEMONS + CLIENTS if shutil.which(b, path=path) is None]


def ensure_slurm_installed(timeout: float = 600) -> str | None:
    """Install Debian's SLURM and munge if missing.

    Returns None when SLURM is usable, otherwise the reason it is not (for
    ``pytest.skip``).
    """
    if not _missing_binaries():
        return None
    if os.geteuid() != 0:
        return f"SLURM binaries missing ({', '.join(_missing_binaries())}) and not root, cannot apt-get install"
    if shutil.which("apt-get") is None:
        return "SLURM binaries missing and apt-get is unavailable"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES]
    # A fresh machine may have empty package lists: update only if needed.
    for attempt in ([install], [["apt-get", "update"], install]):
        try:
            ok = all(
                subprocess.run(cmd, env=env, capture_output=True, timeout=timeout).returncode == 0 for cmd in attempt
            )
        except subprocess.TimeoutExpired:
            ok = False
        if ok and not _missing_binaries():
            return None
    return f"apt-get install {' '.join(APT_PACKAGES)} failed; still missing: {', '.join(_missing_binaries())}"


def _is_stepd(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "slurmstepd"
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sbin(name: str) -> str:
    """The system's binary, never the srun shim below."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    found = shutil.which(name, path=path)
    if found is None:
        raise FileNotFoundError(name)
    return found


class SlurmCluster:
    """A one-node cluster named after this host, partition ``debug``."""

    partition = "debug"

    def __init__(self, root: Path, cpus: int | None = None, mem_mb: int | None = None, gpus: int = 1):
        self.root = Path(root)
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus or os.cpu_count() or 1
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        # Leave headroom so slurmd never reports less memory than configured.
        self.mem_mb = mem_mb or max(1024, total_mb - 1024)
        self.gpus = gpus
        self.procs: dict[str, subprocess.Popen] = {}
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        self.env["PATH"] = os.pathsep.join([str(self.root / "bin"), self.env.get("PATH", ""), "/usr/sbin:/sbin"])

    # -- configuration -------------------------------------------------
    def _write_config(self) -> None:
        r = self.root
        for d in ("munge", "state", "spool", "log", "bin"):
            (r / d).mkdir(parents=True, exist_ok=True)
        # munged refuses directories that group/other can write.
        os.chmod(r, 0o755)
        # Clients of any user need to reach the socket; the key stays 0400.
        os.chmod(r / "munge", 0o755)
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        (r / "plugstack.conf").write_text("")
        # Inside a job the slurm-jobstep plugin strips every SLURM_* variable,
        # SLURM_CONF included, before its `srun`; without this shim srun would
        # look for /etc/slurm/slurm.conf. PATH reaches the job via --export=ALL.
        shim = r / "bin" / "srun"
        shim.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {_sbin("srun")} "$@"\n')
        os.chmod(shim, 0o755)
        # Fake GPUs: slurmd counts one per File line; for plain files in place
        # of /dev/nvidiaN it logs "not a valid character or block device" and
        # counts them anyway (torch then runs on the CPU).
        lines = ["AutoDetect=off"]
        for i in range(self.gpus):
            (r / f"gpu{i}").touch()
            lines.append(f"NodeName={self.host} Name=gpu File={r / f'gpu{i}'}")
        (r / "gres.conf").write_text("\n".join(lines) + "\n")
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=ramansrtest",
                    f"SlurmctldHost={self.host}(127.0.0.1)",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    f"StateSaveLocation={r / 'state'}",
                    f"SlurmdSpoolDir={r / 'spool'}",
                    f"SlurmctldPidFile={r / 'slurmctld.pid'}",
                    f"SlurmdPidFile={r / 'slurmd.pid'}",
                    f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
                    f"PlugStackConfig={r / 'plugstack.conf'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "MpiDefault=none",
                    "MailProg=/bin/true",
                    "SwitchType=switch/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "GresTypes=gpu",
                    "SchedulerType=sched/backfill",
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    # Finished jobs stay visible to squeue (the status query
                    # without accounting); the plugin requires >= 3x its
                    # first status wait, or it falls back to a hanging sacct.
                    "MinJobAge=3600",
                    "ReturnToService=2",
                    # Trust the CPUs/memory below even where they exceed the
                    # hardware, so a 2-core CI machine can schedule jobs that
                    # ask for a real cluster's CPUs per GPU.
                    "SlurmdParameters=config_overrides",
                    "SlurmdTimeout=60",
                    (
                        f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} "
                        f"RealMemory={self.mem_mb} Gres=gpu:{self.gpus} State=UNKNOWN"
                    ),
                    (f"PartitionName={self.partition} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP"),
                    "",
                ]
            )
        )

    # -- lifecycle -----------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> None:
        # The daemon keeps its own copy of the descriptor; ours closes after the spawn.
        with open(self.root / "log" / f"{name}.out", "wb") as log:
            self.procs[name] = subprocess.Popen(
                [_sbin(name), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def _wait(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode} while waiting for {what}:\n{self.logs()}")
            if check():
                return
            time.sleep(0.2)
        raise TimeoutError(f"timed out waiting for {what}:\n{self.logs()}")

    def _stepds(self) -> list[int]:
        """Pids of the slurmstepd processes of this cluster's slurmd.

        They detach from slurmd into sessions of their own, so they are
        recognised by the slurmd log file (in our temp dir) they hold open.
        """
        log = str(self.root / "log" / "slurmd.log")
        pids = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if _is_stepd(int(proc.name)) and any(os.readlink(fd) == log for fd in (proc / "fd").iterdir()):
                    pids.append(int(proc.name))
            except OSError:
                continue
        return pids

    @staticmethod
    def _wait_quietly(check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not check():
            time.sleep(0.2)

    def start(self, timeout: float = 60) -> SlurmCluster:
        self._write_config()
        m = self.root / "munge"
        self._spawn(
            "munged",
            [
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={m / 'munge.key'}",
                f"--pid-file={m / 'munged.pid'}",
                f"--seed-file={m / 'munged.seed'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
            ],
        )
        self._wait("munge socket", self.munge_socket.exists, timeout)
        self._spawn("slurmctld", ["-D", "-c"])
        self._wait(
            "slurmctld",
            lambda: self._run("scontrol", "ping").returncode == 0 and "UP" in self._run("scontrol", "ping").stdout,
            timeout,
        )
        self._spawn("slurmd", ["-D", "-N", self.host])
        self._wait("idle node", lambda: self._run("sinfo", "-h", "-o", "%T").stdout.strip() == "idle", timeout)
        return self

    def stop(self, timeout: float = 15) -> None:
        # Cancel leftover jobs first: their slurmstepd processes outlive a
        # stopped slurmd, but end when slurmd cancels them.
        if all(name in self.procs and self.procs[name].poll() is None for name in DAEMONS):
            # A slurmstepd lets go of the log right after the cancel but
            # lives on a few seconds, so collect the pids before and after.
            stepds = set(self._stepds())
            self._run("scancel", f"--user={os.getuid()}")
            stepds |= set(self._stepds())
            self._wait_quietly(lambda: not any(_is_stepd(pid) for pid in stepds), timeout)
            for pid in stepds:
                if _is_stepd(pid):
                    os.kill(pid, signal.SIGKILL)
        # Reverse start order: compute node first, munge last.
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs.clear()

    def __enter__(self) -> SlurmCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers -------------------------------------------------------
    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=30)

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld remembers (MinJobAge keeps finished ones), as
        ``scontrol show job`` fields: JobId, JobName, JobState, Comment,
        TresPerJob, ..."""
        out = self._run("scontrol", "--oneliner", "show", "job").stdout
        jobs = []
        for line in out.splitlines():
            fields = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
            if "JobId" in fields:
                jobs.append(fields)
        return jobs

    def logs(self) -> str:
        parts = []
        for f in sorted((self.root / "log").glob("*")):
            parts.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-3000:])
        return "\n".join(parts)
