"""Which local files a model may read on an engine that reads them with its own readers
(Spark): the rule DuckDB holds for the workbench (``DuckDBEngine.restrict_files``), checked
by retl before the engine is asked.

A model may read files in the project's folders (not its hidden ones: ``.git/config`` holds
the CI job's token, ``.env`` secrets), the state folder and the folders ``RETL_ALLOWED_PATHS``
lists; a URL of the cluster's storage (``s3a://``, ``abfss://``, ``dbfs:/``, ``hdfs://``) is
the warehouse's own data, read with its credentials, as a table is. A relative path is taken
from the project folder, as the workbench takes it. A pattern (``data/*.parquet``) is
expanded here and each file it matches is checked: the engine is handed the files, never a
pattern it might expand differently (Hadoop's ``{a,b}`` holds any path).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reverse_etl.errors import EngineError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters at least: not C:
_PATTERN = re.compile(r"[*?\[\]{}]")
ALLOWED_PATHS_ENV = "RETL_ALLOWED_PATHS"  # folders outside the project models may read


def unhidden_under(path: Path, root: Path) -> bool:
    """``path`` is ``root`` or below it through no hidden folder or file but a state
    folder's own name (``.retl``, ``.retl-prod``)."""
    if not path.is_relative_to(root):
        return False
    return not any(
        p.startswith(".") and not p.startswith(".retl") for p in path.relative_to(root).parts
    )


@dataclass(frozen=True)
class FileRule:
    """The folders and files models may read, absolute, with links resolved."""

    base: Path
    folders: tuple[Path, ...]
    files: tuple[Path, ...]

    @classmethod
    def of(cls, base: Path, folders: Sequence[Path], files: Sequence[Path]) -> FileRule:
        return cls(
            base.resolve(),
            tuple(f.resolve() for f in folders),
            tuple(f.resolve() for f in files),
        )

    def paths(self, written: str) -> list[str]:
        """What the engine should read for the path a model wrote: a URL as it is, else the
        local files (or folder) it names, absolute and each allowed; an EngineError naming
        the path otherwise."""
        scheme = _SCHEME.match(written)
        if scheme is not None and scheme.group(1).lower() != "file":
            return [written]
        local = written[len("file:") :] if scheme is not None else written
        if local.startswith("//"):  # file:///data/x.csv
            local = "/" + local.lstrip("/")
        path = Path(local).expanduser()
        path = path if path.is_absolute() else self.base / path
        if "{" in local or "}" in local:
            raise self._refused(written, "a {a,b} pattern is not read here")
        if _PATTERN.search(local):
            matches = sorted(glob.glob(str(path)))  # hidden names only when written so
            if not matches:
                raise EngineError(
                    f"no file matches {written}",
                    hint="check the path: it is taken from the project folder",
                )
            for match in matches:
                self._check(Path(match), written)
            return [str(Path(m).resolve()) for m in matches]
        self._check(path, written)
        return [str(path.resolve())]

    def _check(self, path: Path, written: str) -> None:
        resolved = path.resolve()  # links too: a link out of the project is no way around
        if _PATTERN.search(str(resolved)) or "\\" in str(resolved):
            # Spark expands these in the path it is handed, again: a folder named
            # "{.git,zz}" passed here, and Spark read .git
            raise self._refused(written, "a file or folder name with * ? [ ] { } or \\ in it")
        if not self._allowed(resolved):
            raise self._refused(written, None)
        if resolved.is_dir():
            self._check_listing(resolved, written)

    def allows(self, path: Path) -> bool:
        """Whether models may read the local file ``path`` (its links resolved)."""
        return self._allowed(path.resolve())

    def _allowed(self, resolved: Path) -> bool:
        return resolved in self.files or any(unhidden_under(resolved, f) for f in self.folders)

    def _check_listing(self, folder: Path, written: str) -> None:
        """What Spark reads of a folder: every file and folder in it, at any depth, but
        names starting with '.' or '_' (without '='), as Spark lists them, links followed.
        A link in it to a hidden file (``data/cfg -> ../.git/config``) stays in the
        project, so loading the project let it be; read through the folder, it is refused."""
        seen = {folder}
        todo = [folder]
        while todo:
            for entry in sorted(todo.pop().iterdir()):
                name = entry.name
                if name.startswith(".") or (name.startswith("_") and "=" not in name):
                    continue  # Spark does not read these
                target = entry.resolve()
                if _PATTERN.search(str(target)) or not self._allowed(target):
                    raise self._refused(written, f"it holds {entry.relative_to(folder)}")
                if target.is_dir() and target not in seen:
                    seen.add(target)
                    todo.append(target)

    @staticmethod
    def _refused(written: str, why: str | None) -> EngineError:
        # The fix is in the message: a model's error keeps the message, not the hint.
        return EngineError(
            f"retl may not read {written}: "
            + (why + "; " if why else "")
            + "models read files in the project's folders only (not hidden ones such as "
            f".git); list other folders in {ALLOWED_PATHS_ENV} (set by whoever runs retl)",
        )
