"""Tokenised splits cached on disk: the same arrays back, the tokenizer not called, the key tracks the recipe."""
import numpy as np
import pytest

from trainers import model as model_module
from trainers import tokens

ARGS = ("STS-B", "all-MiniLM-L6-v2", 32, 40, 24, False)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_CACHE", str(tmp_path))
    tokens.encoded_splits.cache_clear()
    yield tmp_path / "tokens"
    tokens.encoded_splits.cache_clear()


def test_disk_cache_round_trip_without_the_tokenizer(cache, monkeypatch):
    fresh, pad = tokens.encoded_splits(*ARGS)
    assert [p.suffix for p in cache.iterdir()] == [".npz"]  # one file, no temporary left behind
    tokens.encoded_splits.cache_clear()

    def no_tokenizer(name):
        raise AssertionError("the cached split was tokenised again")
    monkeypatch.setattr(model_module, "tokenizer_for", no_tokenizer)
    cached, cached_pad = tokens.encoded_splits(*ARGS)
    assert cached_pad == pad and set(cached) == {"train", "validation", "test"}
    for name, split in fresh.items():
        for field in ("ids", "types", "offsets", "labels"):
            np.testing.assert_array_equal(getattr(cached[name], field), getattr(split, field))
    assert len(cached["train"]) == 40 and cached["train"].lengths.max() <= 32


def test_cache_key_follows_the_recipe_and_can_be_turned_off(cache, monkeypatch):
    assert tokens.cache_key(*ARGS) != tokens.cache_key("STS-B", "all-MiniLM-L6-v2", 48, 40, 24, False)
    assert tokens.cache_key(*ARGS) != tokens.cache_key("STS-B", "all-MiniLM-L6-v2", 32, 41, 24, False)
    monkeypatch.setenv("SUITE_TOKEN_CACHE", "0")
    tokens.encoded_splits(*ARGS)
    assert not cache.exists()
