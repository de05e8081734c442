"""Locate offline assets (GLUE files, checkpoints) and verify them against a checksum manifest.

The assets root is ``SUITE_ASSETS`` when set, else ``../shared`` beside the checkout when it exists.
Names not found locally fall back to the Hugging Face hub only when it is reachable.
"""
from __future__ import annotations

import functools
import hashlib
import os
import socket
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).with_name("manifest.yaml")


class AssetError(RuntimeError):
    """A missing or corrupted asset: the message names the file and what was expected."""


def assets_root() -> Path | None:
    """The assets folder; a SUITE_ASSETS that names no folder is an error (not a missing checkpoint later)."""
    env = os.environ.get("SUITE_ASSETS")
    if env:
        root = Path(env).expanduser().resolve()
        if not root.is_dir():
            raise AssetError(f"SUITE_ASSETS={env} is not a directory; set it to the folder holding data/ and "
                             f"models/ (default ../shared)")
        return root
    default = REPO_ROOT.parent / "shared"
    return default if default.is_dir() else None


@functools.lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    with open(MANIFEST, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["sha256"]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def asset_path(relative: str) -> Path:
    """Absolute path of an asset under the root, e.g. ``data/glue/RTE/train.tsv``."""
    root = assets_root()
    if root is None:
        raise AssetError(f"{relative}: no assets root (set SUITE_ASSETS or place ../shared beside the checkout)")
    path = root / relative
    if not path.is_file():
        raise AssetError(f"{path}: missing (expected sha256 {manifest().get(relative, 'unknown')})")
    return path


def verify(relative: str) -> Path:
    """Check one asset against the manifest; raise AssetError naming the file and the expected checksum."""
    path = asset_path(relative)
    expected = manifest().get(relative)
    if expected is None:
        raise AssetError(f"{relative}: not in the checksum manifest {MANIFEST.name}")
    actual = sha256_of(path)
    if actual != expected:
        raise AssetError(f"{path}: checksum mismatch (expected sha256 {expected}, found {actual})")
    return path


def hub_off() -> bool:
    """HF_HUB_OFFLINE set (the Makefile and the CLI set it to 1): the hub is not asked at all."""
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def no_hub() -> str:
    """Why a name not found locally cannot come from the hub: switched off, or not answering."""
    return f"the hub is off (HF_HUB_OFFLINE={os.environ['HF_HUB_OFFLINE']})" if hub_off() else "the hub is unreachable"


def models_folder() -> str:
    """Where local checkpoints are looked for, as users name it (the default root as ../shared, the same on every
    machine, so reports that quote it do not carry one machine's paths), and whether it is absent or empty."""
    root = assets_root()
    if root is None:
        return "../shared/models (no assets folder: set SUITE_ASSETS or place ../shared beside the checkout)"
    models = root / "models"
    shown = "../shared/models" if root == REPO_ROOT.parent / "shared" else str(models)
    if not models.is_dir():
        return f"{shown} (absent)"
    return shown if any(models.iterdir()) else f"{shown} (empty)"


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 2.0) -> bool:
    if hub_off():
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def cache_dir() -> Path:
    """Derived files shared by the trials of a study: tokenised splits, intermediate-task weights (the driver
    sets SUITE_CACHE to runs/cache)."""
    return Path(os.environ.get("SUITE_CACHE") or REPO_ROOT / "runs" / "cache")


def model_source(name: str) -> str:
    """A local checkpoint folder for ``name``, or the hub id when the hub is reachable."""
    root = assets_root()
    local = root / "models" / name if root else None
    if local is not None and local.is_dir():
        if not (local / "model.safetensors").is_file():
            expected = manifest().get(f"models/{name}/model.safetensors", "unknown: not a shipped checkpoint")
            raise AssetError(f"{local / 'model.safetensors'}: checkpoint folder without weights "
                             f"(expected sha256 {expected})")
        return str(local)
    if hub_reachable():
        return name
    raise AssetError(f"model {name!r} is not in {models_folder()} and {no_hub()}")


def model_files(name: str) -> list[str]:
    """Manifest entries of a local checkpoint (empty for hub models)."""
    prefix = f"models/{name}/"
    return [key for key in manifest() if key.startswith(prefix)]


def shipped(relative: str) -> bool:
    """Whether the offline asset set includes this file (it is in the checksum manifest)."""
    return relative in manifest()


def missing(relatives: list[str]) -> list[str]:
    """The assets among ``relatives`` that are not on disk."""
    root = assets_root()
    return [r for r in relatives if root is None or not (root / r).is_file()]
