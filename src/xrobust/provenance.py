"""What every result file records about how it was made."""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path

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


def provenance(config: dict, device="cpu") -> dict:
    return {"config_hash": config_hash(config), "git_commit": git_commit(),
            "packages": package_versions(), "python": platform.python_version(),
            "device": device_description(device)}
