"""Datasets: ordered, lazily read images; folders of images; named public sets with checksums.

A named set (`PublicDataset`) is found, in this order:

1. under the local root named by `RESTORE_DATA`, at the set's layout path (`test/bsd68`, ...);
2. in the user cache (`RESTORE_CACHE`, else the platform's cache folder, `.../restore/datasets`);
3. downloaded from its public source into the cache, when the registry knows a download address
   and every file's checksum (pooch downloads to a temporary name and renames after the checksum
   matches, so a partial or corrupt download never lands under its final name).

Every file of a named set is checked against its recorded checksum before it is first used in a
process; a mismatch is an error naming the file. Sets register through the `register_datasets`
hook like any other component, so this module imports neither torch nor the image readers at
module level: registering and listing sets must stay cheap.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from restore_core.errors import DatasetError, UnknownNameError
from restore_core.plugins.registry import Registry

if TYPE_CHECKING:
    import torch
from restore_core.system import settings

Mode = Literal["auto", "gray", "rgb"]
CropAt = Literal["centre", "corner"]
DEFAULT_DATASET = "skimage"
DATA_ENV, CACHE_ENV, OFFLINE_ENV = settings.DATA_ENV, settings.CACHE_ENV, settings.OFFLINE_ENV


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset: a stable id and how to read it (as float32 (1, C, H, W))."""

    image_id: str
    load: Callable[[Mode], torch.Tensor] = field(repr=False, compare=False)
    path: Path | None = None


@dataclass(frozen=True)
class Dataset:
    """An ordered list of images, read one at a time, optionally cropped."""

    name: str
    records: tuple[ImageRecord, ...]
    mode: Mode = "auto"
    description: str = ""
    crop: int | None = None
    crop_at: CropAt = "centre"

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[tuple[str, torch.Tensor]]:
        for i, record in enumerate(self.records):
            yield record.image_id, self.load(i)

    def load(self, index: int) -> torch.Tensor:
        """Read image `index` as float32 (1, C, H, W) in [0, 1], cropped as configured."""
        image = self.records[index].load(self.mode)
        return crop_image(image, self.crop, self.crop_at) if self.crop else image

    def limit(self, count: int | None) -> Dataset:
        """Return the first `count` images (all when None)."""
        return self if count is None else replace(self, records=self.records[:count])

    def cropped(self, size: int | None, at: CropAt = "centre") -> Dataset:
        """Return the set with every image cropped to at most `size` x `size` (None: uncropped)."""
        if size is not None and size < 1:
            raise DatasetError(f"crop size must be positive, got {size}")
        return replace(self, crop=size, crop_at=at)


def crop_image(image: torch.Tensor, size: int | None, at: CropAt = "centre") -> torch.Tensor:
    """Crop (..., H, W) to at most size x size, from the centre or the top-left corner."""
    if size is None:
        return image
    h, w = image.shape[-2:]
    ch, cw = min(h, size), min(w, size)
    y, x = ((h - ch) // 2, (w - cw) // 2) if at == "centre" else (0, 0)
    return image[..., y : y + ch, x : x + cw].contiguous()


def _file_loader(path: Path, checksum: str | None = None) -> Callable[[Mode], torch.Tensor]:
    def load(mode: Mode) -> torch.Tensor:
        from restore_core.imaging.io import read_image

        if checksum is not None:
            verify_file(path, checksum)
        return read_image(path, mode=mode)

    return load


def is_idx_file(path: Path) -> bool:
    """True for an IDX images file by its conventional name (`*-idx3-ubyte`, optionally `.gz`)."""
    return "idx3-ubyte" in path.name


def folder_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Return every image in a folder, a single image file, or the images of an IDX file (MNIST format)."""
    from restore_core.imaging.io import list_images

    p = Path(path).expanduser()
    if p.is_file():
        if is_idx_file(p):
            return idx_dataset(p, str(path), f"IDX images {p}")
        return Dataset(str(path), (ImageRecord(p.stem, _file_loader(p), p),), "auto", f"image {p}")
    if not p.is_dir():
        raise DatasetError(f"dataset {str(path)!r} is neither a known name nor an existing folder")
    files = list_images(p)
    idx_files = sorted(f for f in p.iterdir() if f.is_file() and is_idx_file(f))
    if not files and len(idx_files) == 1:  # an MNIST-style folder: its one images file
        return idx_dataset(idx_files[0], str(path), f"IDX images {idx_files[0]}")
    if not files:
        raise DatasetError(f"folder {str(path)!r} holds no PNG, JPEG, BMP, TIFF, GIF or WebP images"
                           + (f" and {len(idx_files)} IDX images files (name one)" if idx_files else ""))
    records = tuple(ImageRecord(f.stem, _file_loader(f), f) for f in files)
    return Dataset(str(path), records, "auto", f"folder {p}")


# ------------------------------------------------------------------------------- verification

_verified: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Return the hex digest of a file's bytes."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, checksum: str) -> None:
    """Raise DatasetError unless `path` matches `checksum` ('sha256:...' or 'md5:...'; bare = sha256)."""
    algorithm, _, expected = checksum.rpartition(":")
    algorithm = algorithm or "sha256"
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if _verified.get(key) == checksum:
        return
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        raise DatasetError(f"{path}: {algorithm} checksum mismatch (expected {expected[:12]}..., got "
                           f"{actual[:12]}...); the file is corrupt or not the published one; replace it")
    _verified[key] = checksum


# ------------------------------------------------------------------------------ named sets


def data_root() -> Path | None:
    """Return the local data root named by RESTORE_DATA, if set."""
    return settings.data_root()


def _root_problem(root: Path) -> str:
    what = "is a file, not a folder" if root.exists() else "does not exist"
    return f"{DATA_ENV}={root} {what}"


def cache_root() -> Path:
    """Return the folder downloaded sets are kept in (RESTORE_CACHE or the platform cache)."""
    return settings.cache_dir()


@dataclass(frozen=True)
class Location:
    """Where a named set was found: 'local', 'cache', or 'missing' (with why)."""

    where: Literal["local", "cache", "missing"]
    path: Path | None
    detail: str = ""


@dataclass(frozen=True)
class PublicDataset:
    """A named public set: its files and their checksums, its source, and how to read it.

    `files` maps a file name (relative to the set's folder) to its checksum, 'sha256:<hex>' or
    'md5:<hex>' where only the publisher's MD5 is known, or None where none is recorded (such a
    set is used from a local copy with a warning, and never downloaded). For `reader="idx"`,
    `files` holds the IDX images file first.
    """

    name: str
    description: str
    layout: str
    files: Mapping[str, str | None]
    count: int
    mode: Mode
    source: str
    citation: str
    download_url: str | None = None  # files (or the archive) are at download_url + name
    reader: Literal["images", "idx"] = "images"
    archive: tuple[str, str] | None = None  # (archive file name, its checksum) holding the files
    archive_prefix: str = ""  # folder inside the archive where `files` are

    def corrupt_files(self, folder: Path) -> list[str]:
        """Names of the files under `folder` whose bytes do not match their recorded checksum."""
        bad = []
        for name, checksum in sorted(self.files.items()):
            if checksum is None:
                continue
            try:
                verify_file(folder / name, checksum)
            except (DatasetError, OSError):
                bad.append(name)
        return bad

    @property
    def verifiable(self) -> bool:
        """True when every file has a recorded checksum."""
        return all(self.files.values())

    def locate(self) -> Location:
        """Find the set under the local root or in the cache, without downloading."""
        reasons = []
        root = data_root()
        for where, base in (("local", root), ("cache", cache_root())):
            if base is None:
                reasons.append(f"{DATA_ENV} is not set")
                continue
            if where == "local" and not base.is_dir():
                reasons.append(_root_problem(base))
                continue
            folder = base / self.layout
            missing = [f for f in self.files if not (folder / f).is_file()]
            if not missing:
                return Location(where, folder)  # type: ignore[arg-type]
            if folder.is_dir():
                reasons.append(f"{folder} lacks {len(missing)} of {len(self.files)} files ({missing[0]}, ...)")
        return Location("missing", None, "; ".join(reasons))

    def fetch(self, progress: Callable[[str], object] | None = None) -> Path:
        """Return the set's folder, downloading it into the cache when it is nowhere local."""
        found = self.locate()
        if found.path is not None:
            return found.path
        target = cache_root() / self.layout
        hint = (f"put its {len(self.files)} files in {DATA_ENV}/{self.layout} and set {DATA_ENV} to that root "
                f"(source: {self.source})")
        root = data_root()
        if root is not None and not root.is_dir():
            hint = f"{_root_problem(root)}; {hint}"  # the likeliest cause, so it comes first
        if self.download_url is None or not self.verifiable:
            raise DatasetError(f"dataset {self.name!r} is not available locally ({found.detail}) and has no "
                               f"verified download; {hint}")
        if settings.offline():
            raise DatasetError(f"dataset {self.name!r} is not available locally and {OFFLINE_ENV} is on; {hint}")
        downloads = [self.archive] if self.archive else list(self.files.items())
        where = target.parent / f".{target.name}.archive" if self.archive else target
        for name, checksum in downloads:
            if progress is not None:
                progress(name)
            _download(self.download_url + name, checksum, where / name, f"dataset {self.name!r}", hint)
        if self.archive:
            self._unpack(where / self.archive[0], target)
        return target

    def _unpack(self, archive: Path, target: Path) -> None:
        import shutil

        scratch = archive.parent / "extracted"
        shutil.rmtree(scratch, ignore_errors=True)
        extract_archive(archive, scratch)
        target.mkdir(parents=True, exist_ok=True)
        for name, checksum in self.files.items():
            source = scratch / self.archive_prefix / name
            if not source.is_file():
                raise DatasetError(f"{archive}: has no {self.archive_prefix}{name}; "
                                   "the archive is not the expected one")
            if checksum is not None:
                verify_file(source, checksum)
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target / name)
        shutil.rmtree(archive.parent, ignore_errors=True)

    def __call__(self) -> Dataset:
        """Open the set (downloading it if needed), checking count and, lazily, every checksum."""
        folder = self.fetch()
        if self.reader == "idx":
            return _idx_dataset(self, folder)
        records = tuple(ImageRecord(PurePosixPath(f).stem, _file_loader(folder / f, c), folder / f)
                        for f, c in sorted(self.files.items()))
        if len(records) != self.count:
            raise DatasetError(f"dataset {self.name!r} lists {len(records)} files, expected {self.count}")
        if not self.verifiable:
            import warnings

            warnings.warn(f"dataset {self.name!r}: no checksums are recorded, so {folder} is used unverified",
                          stacklevel=2)
        return Dataset(self.name, records, self.mode, self.description)


def _idx_dataset(entry: PublicDataset, folder: Path) -> Dataset:
    images_file, checksum = next(iter(entry.files.items()))
    path = folder / images_file
    if checksum is not None:
        verify_file(path, checksum)
    return idx_dataset(path, entry.name, entry.description, mode=entry.mode, expected=entry.count)


def idx_dataset(path: Path, name: str, description: str, mode: Mode = "gray",
                expected: int | None = None) -> Dataset:
    """The images of an IDX file (uint8, N x H x W), gray; named by their index."""
    import numpy as np

    from restore_core.imaging.idx import read_idx
    from restore_core.imaging.io import to_tensor

    images = read_idx(path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if expected is not None and len(images) != expected:
        raise DatasetError(f"{path}: holds {len(images)} images, expected {expected}")
    if len(images) == 0:
        raise DatasetError(f"{path}: holds no images")

    def loader(i: int) -> Callable[[Mode], torch.Tensor]:
        def load(mode: Mode) -> torch.Tensor:
            image = to_tensor(images[i])
            return image.expand(1, 3, *image.shape[-2:]).contiguous() if mode == "rgb" else image

        return load

    width = len(str(len(images) - 1))
    records = tuple(ImageRecord(f"{i:0{width}d}", loader(i), path) for i in range(len(images)))
    return Dataset(name, records, mode, description)


class _DownloadBar:
    """The progress-bar object pooch drives (total, update, reset, close), drawn with rich on stderr."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        self._progress = Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                                  console=Console(stderr=True), transient=True)
        self._task = self._progress.add_task(label, total=None)
        self._progress.start()

    @property
    def total(self) -> float | None:
        return self._progress.tasks[0].total

    @total.setter
    def total(self, value: float | None) -> None:
        self._progress.update(self._task, total=value)

    def update(self, amount: float) -> None:
        self._progress.advance(self._task, amount)

    def reset(self) -> None:
        self._progress.reset(self._task)

    def close(self) -> None:
        self._progress.stop()


def _download(url: str, checksum: str | None, dest: Path, what: str, hint: str) -> None:
    """Fetch `url` to `dest` through pooch (temporary name, checksum, then rename)."""
    import sys

    import pooch

    bar: _DownloadBar | bool = _DownloadBar(f"{what}: {dest.name}") if sys.stderr.isatty() else False
    try:
        pooch.retrieve(url, known_hash=checksum, fname=dest.name, path=dest.parent, progressbar=bar)
    except Exception as exc:  # network and checksum errors come in many types; all mean the same here
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise DatasetError(f"{what}: downloading {url} failed ({type(exc).__name__}: {first}); {hint}") from None


# -------------------------------------------------------------------------- safe extraction


def extract_archive(archive: Path, target: Path) -> list[Path]:
    """Extract a zip or tar archive into `target`, refusing members that would land outside it."""
    root = target.resolve()
    root.mkdir(parents=True, exist_ok=True)

    def safe(name: str) -> Path:
        dest = (root / name).resolve()
        if dest != root and root not in dest.parents:
            raise DatasetError(f"{archive}: member {name!r} would be written outside {target}; refused")
        return dest

    written: list[Path] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for m in members:
                safe(m.filename)
                # zipfile would write a symlink member as a file holding the link's target: refuse it as
                # tar's links are refused, rather than leave a file that is not what the archive meant
                if stat.S_ISLNK(m.external_attr >> 16):
                    raise DatasetError(f"{archive}: member {m.filename!r} is a link; refused")
            for m in members:
                if not m.is_dir():
                    written.append(Path(zf.extract(m, root)))
        return written
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                safe(m.name)
                if m.issym() or m.islnk() or not (m.isfile() or m.isdir()):
                    raise DatasetError(f"{archive}: member {m.name!r} is a link or device; refused")
            for m in members:
                if m.isfile():
                    dest = safe(m.name)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    source = tf.extractfile(m)
                    dest.write_bytes(source.read() if source is not None else b"")
                    written.append(dest)
    except tarfile.TarError as exc:
        raise DatasetError(f"{archive}: not a readable zip or tar archive ({exc})") from None
    return written


def open_dataset(registry: Registry, spec: str) -> Dataset:
    """Resolve a registered dataset name, or else a folder (or image file) path."""
    name = spec.strip()
    if registry.lookup(name.lower()) is not None:
        dataset = registry.build(name.lower())
        if not isinstance(dataset, Dataset):
            raise DatasetError(f"dataset {name!r} from its plugin returned {type(dataset).__name__}, not a Dataset")
        return dataset
    if Path(name).expanduser().exists() or any(c in name for c in "/\\~") or Path(name).suffix:
        return folder_dataset(name)
    try:
        registry.parse(name)
    except UnknownNameError as exc:
        raise UnknownNameError(f"{exc}; or give a folder path") from None
    return registry.build(name)
