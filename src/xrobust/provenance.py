"""What every result file records about how it was made."""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path

from . import resultfiles

PACKAGES = ("xrobust", "torch", "transformers", "datasets", "textattack", "tokenizers", "numpy")


def config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def git_commit(cwd: Path | None = None) -> str:
    """The checkout's commit ('-dirty' if tracked files outside results/ changed: a result file
    being made again is an output, not a change of the code). A copy without .git (as on a
    machine that receives only the working tree) reports XROBUST_GIT_COMMIT if set."""
    fallback = os.environ.get("XROBUST_GIT_COMMIT") or "unknown"
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or Path(__file__).parent,
                             capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            return fallback
        commit = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)",
                                ":(top,exclude)results"],
                               cwd=cwd or Path(__file__).parent, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return fallback


# Workflow order of a grid's result files: every step after these two reads a model they made.
RESULT_STEP_ORDER = {"intermediate": 1, "target": 2}
CHECKOUT_EPOCH = 946684800  # 2000-01-01 UTC: older than any file made on the machine


def order_committed_results(grid_dir: Path) -> int:
    """Date the committed result files of a grid in workflow order (intermediate, then target,
    then every step that reads their models), and return how many were re-dated.

    A checkout writes files in no particular order. Snakemake would then take a committed attack
    result for out of date whenever git happened to write its model's result after it: it would
    delete the committed file and re-run the attack, which fails without the model's checkpoint
    (checkpoints are not committed). Files that are committed and unchanged carry no date worth
    keeping; files made or changed here keep theirs, so Snakemake still re-runs what depends on
    them. Outside a git checkout (a copied working tree) every result file counts as committed."""
    grid_dir = Path(grid_dir)
    if not grid_dir.is_dir():
        return 0
    files = {f.relative_to(grid_dir).as_posix() for f in resultfiles.result_files(grid_dir)}
    try:
        def git(*args):
            out = subprocess.run(["git", *args, "-z", "--", "."], cwd=grid_dir, capture_output=True, text=True,
                                 timeout=30)
            if out.returncode != 0:
                raise OSError(out.stderr)
            return set(filter(None, out.stdout.split("\0")))
        committed = git("ls-files") - git("diff", "--name-only", "--relative", "HEAD")
    except (OSError, subprocess.SubprocessError):
        committed = files
    n = 0
    for rel in sorted(files & committed):
        t = CHECKOUT_EPOCH + RESULT_STEP_ORDER.get(rel.split("/")[0], len(RESULT_STEP_ORDER) + 1)
        path = grid_dir / rel
        if path.stat().st_mtime != t:
            os.utime(path, (t, t))
            n += 1
    return n


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def device_description(device) -> str:
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.machine()}:{torch.get_num_threads()}threads"


def processor_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU model. Re-runs on one machine kind have given bit-identical weights; a CPU with
    other vector kernels can round differently, so a re-run check needs to know which one ran."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (x86 AVX512-BF16 or AMX tiles), as
    PyTorch's oneDNN kernels see it. Without it, bf16 autocast on the CPU emulates the format
    and is slower than fp32, so `precision: auto` stays fp32 there (`params.resolve_precision`)."""
    import torch

    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        supported = getattr(torch.cpu, check, None)
        try:
            if supported is not None and supported():
                return True
        except RuntimeError:
            continue
    return False


def provenance(config: dict, device="cpu") -> dict:
    """How a result was made. `precision` is the numeric format that ran (the config's, resolved:
    'auto' never appears); `cpu_bf16` whether the CPU has native bf16, which decides what 'auto'
    means on a CPU."""
    return {"config_hash": config_hash(config), "git_commit": git_commit(),
            "packages": package_versions(), "python": platform.python_version(),
            "device": device_description(device), "processor": processor_name(),
            "precision": config.get("precision"), "cpu_bf16": cpu_native_bf16()}
