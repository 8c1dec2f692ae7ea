"""Download the benchmark corpus: pinned releases of real projects, from PyPI.

    python bench/corpus.py            # into bench/corpus/ (git-ignored)

FastAPI applications that use background tasks, the framework itself as its
source distribution ships it (with `docs_src/` and `tests/`, which mention
`BackgroundTasks` hundreds of times), and large pure-Python libraries with no
FastAPI at all, so that both the files that matter and the ones that must be
skipped cheaply are measured. Wheels and sdists are downloaded with pip
(`--no-deps`) and only their .py / .pyi files are unpacked.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"

# (distribution, version, group); group "framework" comes as an sdist.
PROJECTS = (
    ("fastapi", "0.115.0", "framework"),
    ("open-webui", "0.12.4", "fastapi"),
    ("prefect", "3.9.1", "fastapi"),
    ("langflow-base", "1.13.0", "fastapi"),
    ("litellm", "1.109.1", "fastapi"),
    ("chainlit", "2.12.0", "fastapi"),
    ("django", "5.2.8", "other"),
    ("sympy", "1.14.0", "other"),
)
# The FastAPI-heavy subset fixit is timed on (fixit takes minutes on the rest).
FIXIT_SUBSET = ("open-webui",)


def project_dir(name: str, version: str, group: str) -> Path:
    return CORPUS / group / f"{name}-{version}"


def fetch(name: str, version: str, group: str) -> Path:
    target = project_dir(name, version, group)
    if target.is_dir() and any(target.rglob("*.py")):
        return target
    downloads = CORPUS / "_downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    if group == "framework":
        return _fetch_sdist(name, version, downloads, target)
    _download(name, version, downloads, "--only-binary")
    normalized = name.replace("-", "_").lower()
    wheel = next(
        w for w in downloads.glob("*.whl") if w.name.lower().startswith(f"{normalized}-{version}-")
    )
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith((".py", ".pyi")):
                archive.extract(member, target)
    return target


def _download(name: str, version: str, downloads: Path, kind: str) -> None:
    """`pip download` of one release: `kind` is `--only-binary` (a wheel) or
    `--no-binary` (the sdist)."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += [kind, ":all:", "--dest", str(downloads), f"{name}=={version}"]
    subprocess.run(command, check=True)


def _fetch_sdist(name: str, version: str, downloads: Path, target: Path) -> Path:
    _download(name, version, downloads, "--no-binary")
    archive_path = next(downloads.glob(f"{name}-{version}.tar.gz"))
    with tarfile.open(archive_path) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith((".py", ".pyi")):
                # Drop the archive's top directory; never write outside target.
                relative = Path(*Path(member.name).parts[1:])
                if ".." in relative.parts or relative.is_absolute():
                    continue
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is not None:
                    destination.write_bytes(source.read())
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    for name, version, group in PROJECTS:
        path = fetch(name, version, group)
        files = list(path.rglob("*.py"))
        print(f"{group:8} {name}-{version}: {len(files)} files")


if __name__ == "__main__":
    main()
