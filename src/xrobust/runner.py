"""The start-up of every Snakemake run of this checkout, in one place (scripts/build_paper.sh, ci_book.sh and
run_by_seed.sh call it through scripts/snakemake_run.sh):

1. the environment: this checkout's `src` first on PYTHONPATH (the notebooks' kernels inherit it), offline
   Hugging Face settings unless set;
2. one run at a time per checkout: an `flock` on .snakemake/xrobust-run.lock, held by Snakemake itself for the
   run's lifetime (the open file is handed on when this process becomes Snakemake), so that it goes away with
   the run however the run ends (kill -9 of its process group included). A second run is refused while the
   first holds it, and leaves the first run's locks alone;
3. a stale Snakemake lock (.snakemake/locks/, left by a run that was killed) released with the arguments
   Snakemake needs (`--unlock --cores N`, the same Snakefile and config), only when this run holds the flock
   and no live Snakemake process works in this checkout; if the unlock fails its output is shown and the run
   stops;
4. Snakemake, with `--rerun-incomplete`: the outputs of jobs that a kill interrupted are made again.

    python -m xrobust.runner [--configfile CONFIG] [--cores N] [--unlock-only] [snakemake arguments and targets]
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .resultfiles import RESULT_SUFFIXES, is_complete

RUN_LOCK = Path(".snakemake") / "xrobust-run.lock"
SNAKEMAKE_LOCKS = Path(".snakemake") / "locks"
SNAKEFILE = Path("workflow") / "Snakefile"


class RunRefused(RuntimeError):
    """This run cannot start (another run holds the checkout, or a stale lock cannot be released)."""


def run_env(root: Path, env: dict | None = None) -> dict:
    """The environment of a run: `root/src` first on PYTHONPATH, `root/.venv/bin` first on PATH when it
    exists, HF_HUB_OFFLINE and HF_DATASETS_OFFLINE 1 unless set."""
    env = dict(os.environ if env is None else env)
    src = str(root / "src")
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    env["PYTHONPATH"] = os.pathsep.join([src, *paths])
    venv = root / ".venv" / "bin"
    if venv.is_dir() and str(venv) not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join([str(venv), env.get("PATH", "")])
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    return env


def hold_run_lock(root: Path) -> int:
    """An open file descriptor holding an exclusive flock on root/.snakemake/xrobust-run.lock, with this
    process's id and command line written in it; `RunRefused` naming the holder when another run has it."""
    path = root / RUN_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = Path(path).read_text(errors="replace").strip() or "(unknown)"
        os.close(fd)
        raise RunRefused(f"another run of this checkout ({root}) is under way: it holds {RUN_LOCK} ({holder}). "
                         "Wait for it to finish or stop it; its Snakemake lock is left in place.") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}: {' '.join(sys.argv)}\n".encode())
    return fd


WORKERS = ("snakemake", "papermill")  # a run's processes: Snakemake and the notebook jobs it started


def _is_worker(cmdline: list[str]) -> bool:
    head = [os.path.basename(a) for a in cmdline[:2]]
    pairs = zip(cmdline, cmdline[1:], strict=False)
    return any(w in head for w in WORKERS) or any(a == "-m" and b in WORKERS for a, b in pairs)


def live_snakemake(root: Path) -> list[tuple[int, str]]:
    """(pid, command line) of the Snakemake processes, and of the papermill jobs a stopped Snakemake may have
    left running, whose working directory is `root` (processes of other checkouts are not this checkout's
    business; those this user cannot inspect are skipped)."""
    own = {os.getpid(), os.getppid()}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in own:
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if _is_worker(cmdline) and Path(os.readlink(proc / "cwd")).resolve() == root.resolve():
                found.append((int(proc.name), " ".join(cmdline).strip()))
        except OSError:  # gone meanwhile, or another user's
            continue
    return found


def stale_locks(root: Path) -> list[Path]:
    locks = root / SNAKEMAKE_LOCKS
    return sorted(locks.iterdir()) if locks.is_dir() else []


def release_stale_lock(root: Path, base: list[str], cores: str, env: dict) -> bool:
    """Release Snakemake's lock of `root` when it has one and no live Snakemake works there (the caller holds
    the run flock). True when a lock was released; `RunRefused` with Snakemake's own message when the unlock
    fails or a live Snakemake process works in `root`."""
    if not stale_locks(root):
        return False
    live = live_snakemake(root)
    if live:
        raise RunRefused("Snakemake (or a job it started) works in this checkout, and its lock stays: "
                         + "; ".join(f"pid {pid}: {cmd}" for pid, cmd in live)
                         + ". Wait for it to finish or stop it.")
    cmd = [*base, "--cores", cores, "--unlock"]
    print(f"xrobust.runner: releasing the lock a stopped run left ({SNAKEMAKE_LOCKS}): {' '.join(cmd)}",
          file=sys.stderr)
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if out.returncode != 0 or stale_locks(root):
        raise RunRefused(f"could not release the stale Snakemake lock of {root} (`{' '.join(cmd)}` exited with "
                         f"{out.returncode}):\n{(out.stdout + out.stderr).strip()}")
    return True


def keep_finished_jobs(root: Path) -> list[str]:
    """A kill can land after a job wrote its result file (atomically, checksummed) and before Snakemake
    recorded the job: Snakemake then marks its outputs incomplete and `--rerun-incomplete` would delete and
    re-make a finished result. For each incomplete mark whose job's result file (results/<x>.json[.gz], with
    the executed notebook under runs/<x>/) is complete, the marks of the job are dropped, so it is kept byte
    for byte. Returns the result files kept."""
    marks = root / ".snakemake" / "incomplete"
    if not marks.is_dir():
        return []
    by_job: dict[str, list[Path]] = {}
    for mark in marks.iterdir():
        try:
            path = base64.urlsafe_b64decode(mark.name).decode()
        except (ValueError, UnicodeDecodeError):
            continue
        if path.startswith("runs/") and path.endswith(".ipynb"):
            job = "results/" + str(Path(path).parent)[len("runs/"):]
        elif path.startswith("results/") and path.endswith(RESULT_SUFFIXES):
            job = next(path[:-len(s)] for s in sorted(RESULT_SUFFIXES, key=len, reverse=True) if path.endswith(s))
        else:
            continue
        by_job.setdefault(job, []).append(mark)
    kept = []
    for job, job_marks in by_job.items():
        done = [job + s for s in RESULT_SUFFIXES if is_complete(root / (job + s))]
        if done:
            for mark in job_marks:
                mark.unlink(missing_ok=True)
            kept += done
    return kept


def snakemake_command(configfile: str | None, cores: str, extra: list[str]) -> tuple[list[str], list[str]]:
    """(base, full) Snakemake command lines: base names the Snakefile and the config (for the unlock too)."""
    base = ["snakemake", "-s", str(SNAKEFILE)] + (["--configfile", configfile] if configfile else [])
    return base, [*base, "--cores", cores, "--rerun-incomplete", *extra]


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """This module's options (--configfile, --cores, --unlock-only, wherever they stand) and the rest,
    Snakemake's arguments and targets, in their order."""
    args = argparse.Namespace(configfile=None, cores=os.environ.get("CORES") or "all", unlock_only=False)
    extra, rest = [], list(argv)
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if arg == "--":
            extra += [arg, *rest]
            break
        if name in ("--configfile", "--cores"):
            if not eq:
                if not rest:
                    raise SystemExit(f"xrobust.runner: {name} needs a value")
                value = rest.pop(0)
            setattr(args, name[2:], value)
        elif arg == "--unlock-only":
            args.unlock_only = True
        elif arg in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0)
        else:
            extra.append(arg)
    if args.configfile and not Path(args.configfile).is_file():
        raise SystemExit(f"xrobust.runner: --configfile {args.configfile}: no such file")
    return args, extra


def main(argv: list[str] | None = None) -> int:
    args, extra = parse(sys.argv[1:] if argv is None else argv)
    root = Path.cwd().resolve()
    if not (root / SNAKEFILE).is_file():
        print(f"xrobust.runner: {root} has no {SNAKEFILE}; run from the repository root", file=sys.stderr)
        return 2
    env = run_env(root)
    base, cmd = snakemake_command(args.configfile, args.cores, extra)
    if shutil.which("snakemake", path=env["PATH"]) is None:
        print("xrobust.runner: no `snakemake` on PATH (run scripts/setup.sh)", file=sys.stderr)
        return 2
    try:
        fd = hold_run_lock(root)
        release_stale_lock(root, base, args.cores, env)
    except RunRefused as e:
        print(f"xrobust.runner: {e}", file=sys.stderr)
        return 3
    for path in keep_finished_jobs(root):
        print(f"xrobust.runner: {path} was finished before the stop: kept", file=sys.stderr)
    if args.unlock_only:
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    os.set_inheritable(fd, True)  # Snakemake holds the flock from here on, for as long as it runs
    os.execvpe(cmd[0], cmd, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
