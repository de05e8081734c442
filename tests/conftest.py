import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing hub would otherwise stall for about a minute
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
