"""Import TextAttack without network access.

`import textattack` (0.3.11) runs `nltk.download(...)` once per cache folder and builds an
English `StopwordModification()` at import, which needs NLTK's `corpora/stopwords/english`.
Offline both fail. We (1) mark TextAttack's post-install step as done, (2) give NLTK an
English stop-word file made from scikit-learn's list (a dependency already installed), and
(3) tell the hub clients to fail fast. Nothing here is needed with internet, and nothing is
overwritten if the user already has these files.
"""
from __future__ import annotations

import os
from pathlib import Path

from .paths import cache_dir

_ready = False


def prepare() -> Path:
    """Create the local files TextAttack's import expects; return the NLTK data folder."""
    ta_cache = Path(os.environ.get("TA_CACHE_DIR", Path.home() / ".cache" / "textattack"))
    ta_cache.mkdir(parents=True, exist_ok=True)
    (ta_cache / "post_install_check_3").touch()  # skips nltk.download() at import

    nltk_dir = cache_dir() / "nltk_data"
    stop = nltk_dir / "corpora" / "stopwords" / "english"
    if not stop.is_file():
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        stop.parent.mkdir(parents=True, exist_ok=True)
        stop.write_text("\n".join(sorted(ENGLISH_STOP_WORDS)) + "\n", encoding="utf-8")
    paths = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    if str(nltk_dir) not in paths:
        os.environ["NLTK_DATA"] = os.pathsep.join(paths + [str(nltk_dir)])
    try:  # nltk may already be imported (its search path is read at import)
        import nltk

        if str(nltk_dir) not in nltk.data.path:
            nltk.data.path.append(str(nltk_dir))
    except ImportError:
        pass
    return nltk_dir


def import_textattack():
    """`import textattack`, offline-safe. Returns the module."""
    global _ready
    if not _ready:
        prepare()
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        _ready = True
    import textattack

    return textattack
