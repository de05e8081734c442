"""Tokenised splits: ragged token arrays, cached per worker process and on disk (shared by every trial and
worker of a study that uses the same task, tokenizer, length and sample sizes)."""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from trainers.assets import cache_dir, manifest, model_files, shipped
from trainers.model import tokenizer_for
from trainers.tasks import files_for, load_splits

CACHE_VERSION = 1  # bump when the encoding below changes: old cache files are then simply not found


@dataclass(frozen=True)
class TokenizedSplit:
    """One split as flat token arrays: row i is ``ids[offsets[i]:offsets[i + 1]]``."""
    ids: np.ndarray  # int32
    types: np.ndarray | None  # token type ids (sentence pairs), same layout as ids
    offsets: np.ndarray  # int64, n + 1
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))


def tokenize(tokenizer, data, max_seq_len: int) -> TokenizedSplit:
    args = (list(data.text_a),) if data.text_b is None else (list(data.text_a), list(data.text_b))
    enc = tokenizer(*args, truncation=True, max_length=max_seq_len, padding=False)
    lengths = np.fromiter((len(x) for x in enc["input_ids"]), dtype=np.int64, count=len(data))
    offsets = np.concatenate([[0], np.cumsum(lengths)])

    def flat(rows) -> np.ndarray:
        return np.fromiter((t for r in rows for t in r), dtype=np.int32, count=int(offsets[-1]))
    types = enc.get("token_type_ids")
    return TokenizedSplit(flat(enc["input_ids"]), None if types is None else flat(types), offsets,
                          np.asarray(data.labels))


def cache_key(task_name: str, model: str, max_seq_len: int, train_examples, eval_examples, full_train,
              seed=None, dev_halves=False) -> str:
    """Everything the tokens depend on: the data files' and tokenizer files' checksums (or their hub names),
    the recipe's sizes (and its seed, for a per-seed split) and the tokenizers version."""
    import tokenizers

    data = [manifest()[r] if shipped(r) else f"hub:{r}" for r in files_for(task_name)]
    vocab = [manifest()[r] for r in model_files(model) if not r.endswith(".safetensors")] or [f"hub:{model}"]
    fields = [CACHE_VERSION, task_name, data, model, vocab, max_seq_len, train_examples, eval_examples,
              bool(full_train), tokenizers.__version__] + ([] if seed is None else [seed]) + \
        (["dev_halves"] if dev_halves else [])
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:20]


def _save(path: Path, splits: dict[str, TokenizedSplit], pad_id: int) -> None:
    arrays = {"pad_id": np.asarray(pad_id)}
    for name, s in splits.items():
        arrays.update({f"{name}.ids": s.ids, f"{name}.offsets": s.offsets, f"{name}.labels": s.labels})
        if s.types is not None:
            arrays[f"{name}.types"] = s.types
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(partial, **arrays)
    partial.replace(path)  # atomic: concurrent workers never read half a file


def _load(path: Path) -> tuple[dict[str, TokenizedSplit], int]:
    with np.load(path) as z:
        names = sorted({k.split(".")[0] for k in z.files if "." in k})
        splits = {n: TokenizedSplit(z[f"{n}.ids"], z[f"{n}.types"] if f"{n}.types" in z.files else None,
                                    z[f"{n}.offsets"], z[f"{n}.labels"]) for n in names}
        return splits, int(z["pad_id"])


def cache_enabled() -> bool:
    """SUITE_TOKEN_CACHE=0 turns the disk cache off (the benchmark measures both)."""
    return os.environ.get("SUITE_TOKEN_CACHE", "1") != "0"


@functools.lru_cache(maxsize=16)
def encoded_splits(task_name: str, model: str, max_seq_len: int, train_examples, eval_examples,
                   full_train=False, seed=None, dev_halves=False) -> tuple[dict[str, TokenizedSplit], int]:
    """Tokenised train/validation/test splits and the pad id, cached per process and on disk. ``seed``: the
    split seed of a per-seed recipe (trainers.tasks.split_seed), else None."""
    path = cache_dir() / "tokens" / (cache_key(task_name, model, max_seq_len, train_examples, eval_examples,
                                               full_train, seed, dev_halves) + ".npz")
    if cache_enabled() and path.is_file():
        return _load(path)
    tokenizer = tokenizer_for(model)
    splits = {name: tokenize(tokenizer, data, max_seq_len)
              for name, data in load_splits(task_name, train_examples, eval_examples, full_train, seed,
                                                     dev_halves).items()}
    if cache_enabled():
        _save(path, splits, tokenizer.pad_token_id)
    return splits, tokenizer.pad_token_id
