"""Files that hold secrets (the SQLite stores with their argon2 hashes, the private keys) are
created owner-only: folders 0700, files 0600, whatever the process's umask allows others."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dir(path: str | os.PathLike[str]) -> None:
    """Create *path* and every missing parent with mode 0700; existing folders are left alone."""
    missing = []
    folder = Path(path).absolute()
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        # os.makedirs would give the parents the default mode (0755 under the usual umask).
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)


def create_private_file(path: str | os.PathLike[str]) -> None:
    """Create *path* empty with mode 0600 unless it exists; warn if an existing one is not."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Not changed behind the operator's back: they may share it on purpose.
            log.warning("%s is accessible to other users (mode %o); chmod 600 it", path, mode)
