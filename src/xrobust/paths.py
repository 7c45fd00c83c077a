"""Where the package keeps what it builds or downloads (outside git)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Converted models, prepared data and lexicons: `$XROBUST_CACHE`, else ~/.cache/xrobust."""
    root = os.environ.get("XROBUST_CACHE") or Path.home() / ".cache" / "xrobust"
    return Path(root)
