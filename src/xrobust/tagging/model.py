"""`TokenTagger`: the shared encoder with a token-level head (one logit vector per sub-word).

Checkpoints have the layout of `models.EncoderClassifier` (safetensors of the trained
parameters, `checkpoint.json` written last with the weights' checksum), with `"head": "token"`
so that a tagger is never loaded as a classifier or the other way round. An intermediate
checkpoint (a classifier) gives its encoder to a new tagger; its sentence head is dropped.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from torch import nn

from ..models import EncoderClassifier, checkpoint_meta, load_encoder
from ..resultfiles import atomic_write_text, file_sha256

HEAD = "token"


class TokenTagger(nn.Module):
    """Encoder + dropout + linear head applied at every position."""

    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder, self.num_labels = encoder, num_labels
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(out))

    def freeze_word_embeddings(self) -> None:
        self.encoder.get_input_embeddings().weight.requires_grad_(False)

    @classmethod
    def from_intermediate(cls, ckpt_dir, num_labels: int) -> tuple["TokenTagger", object, dict]:
        """A new tagger on the encoder of an intermediate-task classifier checkpoint."""
        clf, tokenizer, meta = EncoderClassifier.load(ckpt_dir)
        if meta.get("head", "sentence") != "sentence":
            raise ValueError(f"checkpoint {ckpt_dir} is not a classifier (head {meta['head']!r})")
        return cls(clf.encoder, num_labels), tokenizer, meta

    def trainable_state(self) -> dict:
        return {k: v.detach().cpu().clone() for k, v in self.named_parameters() if v.requires_grad}

    def save(self, out_dir: Path, base_model: str, extra: dict | None = None) -> Path:
        from safetensors.torch import save_file

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        trainable = {k: v.contiguous() for k, v in self.trainable_state().items()}
        tmp = out_dir / ".weights.safetensors.tmp"
        save_file(trainable, str(tmp))
        os.replace(tmp, out_dir / "weights.safetensors")
        meta = {"base_model": base_model, "num_labels": self.num_labels, "head": HEAD,
                "weights_sha256": file_sha256(out_dir / "weights.safetensors"), **(extra or {})}
        atomic_write_text(out_dir / "checkpoint.json", json.dumps(meta, indent=1, sort_keys=True))
        return out_dir

    @classmethod
    def load(cls, ckpt_dir: Path, device="cpu") -> tuple["TokenTagger", object, dict]:
        from safetensors.torch import load_file

        meta = checkpoint_meta(ckpt_dir)
        if meta.get("head") != HEAD:
            raise ValueError(f"checkpoint {ckpt_dir} is not a tagger (head {meta.get('head', 'sentence')!r})")
        encoder, tokenizer = load_encoder(meta["base_model"])
        model = cls(encoder, meta["num_labels"])
        result = model.load_state_dict(load_file(str(Path(ckpt_dir) / "weights.safetensors")), strict=False)
        if result.unexpected_keys:
            raise ValueError(f"checkpoint {ckpt_dir} has unexpected tensors {result.unexpected_keys[:5]}")
        return model.to(device).eval(), tokenizer, meta
