"""Length-grouped batches: a seeded, complete epoch with less padding; random batches unchanged."""
import numpy as np
import pytest
import torch

from trainers.batching import epoch_batches, padded_tokens
from trainers.tokens import encoded_splits


def cola_lengths():
    splits, _ = encoded_splits("CoLA", "all-MiniLM-L6-v2", 48, 256, 96)
    return splits["train"].lengths


def test_random_batches_are_the_permutation_the_loop_always_used():
    lengths = np.arange(50)
    batches = epoch_batches(lengths, 16, torch.Generator().manual_seed(3), "random")
    perm = torch.randperm(50, generator=torch.Generator().manual_seed(3)).tolist()
    assert batches == [perm[i:i + 16] for i in range(0, 50, 16)]


def test_length_grouped_epoch_is_complete_seeded_and_pads_less():
    lengths = cola_lengths()
    first = epoch_batches(lengths, 16, torch.Generator().manual_seed(1), "length_grouped")
    again = epoch_batches(lengths, 16, torch.Generator().manual_seed(1), "length_grouped")
    other = epoch_batches(lengths, 16, torch.Generator().manual_seed(2), "length_grouped")
    assert first == again and first != other
    assert sorted(i for b in first for i in b) == list(range(len(lengths)))  # every example once
    assert [len(b) for b in first] == [16] * 16
    rand = epoch_batches(lengths, 16, torch.Generator().manual_seed(1), "random")
    # CoLA at length 48, seed 1: 4,800 computed tokens in random batches, 3,312 grouped (2,744 real ones)
    assert (padded_tokens(lengths, rand), padded_tokens(lengths, first), lengths.sum()) == (4800, 3312, 2744)
    # batch order is shuffled, not longest-first: no long-to-short curriculum within the epoch
    longest = [lengths[b].max() for b in first]
    assert longest != sorted(longest, reverse=True)


def test_unknown_batching_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown batching 'sorted' \\(valid: random, length_grouped\\)"):
        epoch_batches(np.arange(4), 2, torch.Generator(), "sorted")
