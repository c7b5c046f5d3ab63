"""Reader for SDSS-IV MaNGA DR17 DAP ``MAPS`` files (DAP 3.1.0).

Conventions (see the DAP data model, ``sdss/mangadap:docs/datamodel.rst``):

* Arrays are returned as astropy gives them: single maps ``(ny, nx)``, rows = DAP ``y``
  (``NAXIS2``, Dec-like), columns = DAP ``x`` (``NAXIS1``; RA decreases with column). Plot with
  ``origin='lower'``.
* Emission-line channels are resolved **by name** from the 1-based ``C<n>`` header keywords of
  each extension (``C24 = 'Ha-6564'`` → 0-based index 23 in DR17). No channel number is
  hard-coded; ``legacy_channel_index`` exists only to reproduce the original work, which read
  0-based index 24 (= ``NII-6585``) as "H-alpha".
* Flux: 1e-17 erg s⁻¹ cm⁻² spaxel⁻¹. Velocities: km/s relative to ``SCINPVEL`` (``cz`` guess).
  IVAR = 1/σ² (0 = no information). Spaxel = 0.5″.
* A spaxel is *valid* when its value is finite and its ``MANGA_DAPPIXMASK`` word passes the
  chosen mask mode (:data:`MASK_MODES`): ``"unreliable"`` (default: ``NOCOV``, ``UNRELIABLE``
  and ``DONOTUSE`` clear — the DAP's recommended use and the bits Marvin masks by default,
  ``default_mapmask`` of every DR15–DR17 release), ``"donotuse"`` (bit 30 clear only; keeps
  values the DAP deems unreliable) or ``"any"`` (no bit set; the original work's rule). Masked
  spaxels are stored as 0 in the file, never NaN; :class:`MapsData` keeps the raw values plus
  boolean validity arrays.
* Input is checked as it is read; each error names the file and the extension: a value/IVAR/
  MASK triplet whose ``C<n>`` channel names disagree, a negative IVAR, a velocity beyond the
  speed of light (e.g. a 1e30 fill value), a file that is not FITS at all (an HTML error page
  saved as ``.fits.gz``), a truncated gzip stream or FITS file.
"""

from __future__ import annotations

import gzip
import io
import re
import warnings
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from astropy.io import fits
from pydantic import Field

from .validation import config_dataclass

__all__ = [
    "DAPPIXMASK_BITS",
    "DR17_EMLINE_CHANNELS",
    "DONOTUSE",
    "HEADER_RANGES",
    "MASK_MODES",
    "UNRELIABLE",
    "MapsData",
    "MapsFormatError",
    "ReadOptions",
    "channel_dictionary",
    "good_pixels",
    "mask_bit_names",
    "plateifu_from_path",
    "read_maps",
]

#: ``MANGA_DAPPIXMASK`` bit numbers (DR17).
DAPPIXMASK_BITS: dict[str, int] = {
    "NOCOV": 0,
    "LOWCOV": 1,
    "DEADFIBER": 2,
    "FORESTAR": 3,
    "NOVALUE": 4,
    "UNRELIABLE": 5,
    "MATHERROR": 6,
    "FITFAILED": 7,
    "NEARBOUND": 8,
    "NOCORRECTION": 9,
    "MULTICOMP": 10,
    "DONOTUSE": 30,
}
DONOTUSE = 1 << DAPPIXMASK_BITS["DONOTUSE"]
NOCOV = 1 << DAPPIXMASK_BITS["NOCOV"]
NOVALUE = 1 << DAPPIXMASK_BITS["NOVALUE"]
UNRELIABLE = 1 << DAPPIXMASK_BITS["UNRELIABLE"]

#: DR17 (DAP 3.1.0) ``EMLINE_G*`` channel names in file order (0-based index = position).
#: Format documentation for writers and catalogue fallbacks only: the reader never uses it and
#: always resolves channels from the ``C<n>`` keywords of the file itself.
DR17_EMLINE_CHANNELS: tuple[str, ...] = (
    "OII-3727", "OII-3729", "H12-3751", "H11-3771", "Hthe-3798", "Heta-3836", "NeIII-3869",
    "HeI-3889", "Hzet-3890", "NeIII-3968", "Heps-3971", "Hdel-4102", "Hgam-4341", "HeII-4687",
    "Hb-4862", "OIII-4960", "OIII-5008", "NI-5199", "NI-5201", "HeI-5877", "OI-6302",
    "OI-6365", "NII-6549", "Ha-6564", "NII-6585", "SII-6718", "SII-6732", "HeI-7067",
    "ArIII-7137", "ArIII-7753", "Peta-9017", "SIII-9071", "Pzet-9231", "SIII-9533", "Peps-9548",
)  # fmt: skip

#: Mask mode → the ``MANGA_DAPPIXMASK`` bits that make a spaxel invalid (``"any"``: every bit).
MASK_MODES: dict[str, int] = {
    "unreliable": NOCOV | UNRELIABLE | DONOTUSE,
    "donotuse": DONOTUSE,
    "any": sum(1 << b for b in DAPPIXMASK_BITS.values()),
}

#: Speed of light in km/s: no DAP velocity can exceed it (fill values such as 1e30 do).
SPEED_OF_LIGHT_KMS = 299_792.458

MaskMode = Literal["unreliable", "donotuse", "any"]
VelocitySource = Literal["gas", "stellar"]

#: Arcsec per MaNGA spaxel (DRP cube sampling).
SPAXEL_SCALE_ARCSEC = 0.5

_RE_HEADER_KEYS = ("REFF", "RE", "R_EFF", "NSA_ELPETRO_TH50_R", "PETRO_TH50")
_PLATEIFU_RE = re.compile(r"manga-(\d+)-(\d+)")


@config_dataclass
class ReadOptions:
    """What :func:`read_maps` reads: the arguments it takes besides the path, validated as a set.

    line: emission-line channel name; velocity: ``"gas"`` or ``"stellar"``; mask: see
    :data:`MASK_MODES`; legacy_channel_index: read this 0-based plane regardless of its name.
    """

    line: str = "Ha-6564"
    velocity: Literal["gas", "stellar"] = "gas"
    mask: Literal["unreliable", "donotuse", "any"] = "unreliable"
    legacy_channel_index: Annotated[int, Field(ge=0)] | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`read_maps`."""
        return asdict(self)


class MapsFormatError(ValueError):
    """A MAPS file is unreadable or lacks an HDU / channel; the message names the file."""


@dataclass(frozen=True)
class MapsData:
    """One galaxy's emission-line flux and velocity maps read from a MAPS file.

    Attributes
    ----------
    path : source file.
    plateifu : ``PLATE-IFUDESIGN`` (PRIMARY ``PLATEIFU``, else parsed from the file name).
    line : emission-line channel name used for the flux (e.g. ``'Ha-6564'``).
    velocity_source : ``"gas"`` (``EMLINE_GVEL`` of ``line``) or ``"stellar"`` (``STELLAR_VEL``).
    mask_mode : rule used to build ``flux_valid`` / ``vel_valid``.
    flux, flux_ivar : (ny, nx) float64, 1e-17 erg/s/cm²/spaxel and its inverse variance.
    flux_mask : (ny, nx) int64 raw ``MANGA_DAPPIXMASK`` words of the flux channel.
    flux_valid : (ny, nx) bool, finite and passing ``mask_mode``.
    velocity, vel_ivar, vel_mask, vel_valid : the same for the velocity (km/s).
    header : the PRIMARY header.
    spaxel_scale : arcsec per spaxel (0.5).
    center_radec : (RA, Dec) of the galaxy in degrees (``OBJRA``/``OBJDEC``; NaN if absent).
    center_pix : (x, y) 0-based pixel coordinates of the galaxy centre (where ``SPX_SKYCOO``
        is zero, by a linear fit of on-sky offset against pixel index; the array centre
        ``((nx-1)/2, (ny-1)/2)`` if ``SPX_SKYCOO`` is absent).
    reff : effective radius in arcsec from the PRIMARY header (first of ``REFF``, ``RE``,
        ``R_EFF``, ``NSA_ELPETRO_TH50_R``, ``PETRO_TH50``), or NaN.
    r_over_re : (ny, nx) elliptical radius in units of R_e (``SPX_ELLCOO`` channel ``R/Re``),
        or None if absent.
    psf_fwhm : reconstructed r-band PSF FWHM in arcsec (``RFWHM``), or NaN.
    channel : 0-based index of ``line`` in ``EMLINE_GFLUX``.
    """

    path: Path
    plateifu: str
    line: str
    velocity_source: str
    mask_mode: str
    flux: np.ndarray
    flux_ivar: np.ndarray
    flux_mask: np.ndarray
    flux_valid: np.ndarray
    velocity: np.ndarray
    vel_ivar: np.ndarray
    vel_mask: np.ndarray
    vel_valid: np.ndarray
    header: fits.Header = field(repr=False)
    spaxel_scale: float
    center_radec: tuple[float, float]
    center_pix: tuple[float, float]
    reff: float
    r_over_re: np.ndarray | None = field(repr=False)
    psf_fwhm: float
    channel: int

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx) of the maps."""
        return self.flux.shape  # type: ignore[return-value]

    @property
    def flux_masked(self) -> np.ndarray:
        """Flux with NaN at invalid spaxels (float64)."""
        return np.where(self.flux_valid, self.flux, np.nan)

    @property
    def velocity_masked(self) -> np.ndarray:
        """Velocity with NaN at invalid spaxels (float64, km/s)."""
        return np.where(self.vel_valid, self.velocity, np.nan)


def plateifu_from_path(path: str | Path) -> str | None:
    """``'8485-1901'`` from ``manga-8485-1901-MAPS-...fits.gz`` (None if the name does not match)."""
    m = _PLATEIFU_RE.search(Path(path).name)
    return f"{m.group(1)}-{m.group(2)}" if m else None


def channel_dictionary(header: fits.Header) -> dict[str, int]:
    """Map channel name → 0-based index from the 1-based ``C<n>`` keywords of a header.

    Every keyword ``C`` + integer is used (``C01``…``C35``, ``C1``…``C4``); values are stripped.
    """
    channels: dict[str, int] = {}
    for key in header:
        if len(key) > 1 and key[0] == "C" and key[1:].isdigit():
            channels[str(header[key]).strip()] = int(key[1:]) - 1
    return channels


def good_pixels(mask: np.ndarray, mode: MaskMode = "unreliable") -> np.ndarray:
    """Boolean array of spaxels whose ``MANGA_DAPPIXMASK`` word passes ``mode`` (see :data:`MASK_MODES`).

    ``"any"`` rejects a spaxel with any bit set, including bits the DR17 datamodel leaves unnamed.
    """
    if mode not in MASK_MODES:
        raise ValueError(f"mask mode must be one of {tuple(MASK_MODES)}, got {mode!r}")
    mask = np.asarray(mask).astype(np.int64)
    if mode == "any":
        return mask == 0
    return (mask & MASK_MODES[mode]) == 0


def mask_bit_names(mode: MaskMode) -> str:
    """The bits a mask mode rejects, e.g. ``"NOCOV|UNRELIABLE|DONOTUSE"`` (``"any bit"`` for ``"any"``)."""
    if mode not in MASK_MODES:
        raise ValueError(f"mask mode must be one of {tuple(MASK_MODES)}, got {mode!r}")
    if mode == "any":
        return "any bit"
    return "|".join(n for n, b in DAPPIXMASK_BITS.items() if MASK_MODES[mode] & (1 << b))


#: FITS block size [bytes] (FITS standard 4.0, section 3.1); headers and data occupy whole blocks.
_BLOCK = 2880
#: Largest header read, in blocks (100 blocks = 3600 cards; a DAP MAPS header has a few hundred).
MAX_HEADER_BLOCKS = 100
_KEYWORD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _header_int(cards: dict[bytes, bytes], key: str, where: str, lo: int, hi: int, default: int | None = None) -> int:
    """Integer value of a structural keyword (BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT) checked against [lo, hi]."""
    raw = cards.get(key.encode())
    if raw is None:
        if default is None:
            raise MapsFormatError(f"{where} has no {key} keyword")
        return default
    token = raw.split(b"/")[0].strip().decode("ascii", "replace")
    try:
        value = int(token)
    except ValueError:
        raise MapsFormatError(f"{where} {key} = {token!r} is not an integer") from None
    if not lo <= value <= hi:
        raise MapsFormatError(f"{where} {key} = {value} is outside [{lo}, {hi}]")
    return value


def _check_structure(raw: bytes, path: Path) -> None:
    """Walk the HDUs of a FITS file before astropy reads it, so that reading is bounded.

    Each header must end with an ``END`` card within :data:`MAX_HEADER_BLOCKS` blocks, and its structural
    keywords (FITS standard 4.0, section 4.4.1) must be integers in range (BITPIX one of 8, 16, 32, 64,
    -32, -64; 0 <= NAXIS <= 999; NAXISn, PCOUNT >= 0; GCOUNT >= 1) with the data inside the file. astropy
    8.0 trusts them: a negative ``NAXIS3`` gives a negative data size, it seeks backwards and reads the
    same HDUs forever (found by fuzzing, see ``tests/test_fuzz_maps.py``). Raises :class:`MapsFormatError`
    naming the file, the HDU number and the keyword.
    """
    offset, k = 0, 0
    while offset < len(raw):
        where = f"{path}: HDU {k} (byte {offset}) header"
        cards: dict[bytes, bytes] = {}
        end = None
        limit = min(len(raw), offset + MAX_HEADER_BLOCKS * _BLOCK)
        for at in range(offset, limit, 80):
            card = raw[at:at + 80]
            # an END card as astropy finds it: "END" not followed by another keyword character
            if card[:3] == b"END" and (len(card) == 3 or card[3] not in _KEYWORD_CHARS):
                end = at + 80
                break
            key = card[:8].rstrip()
            if card[8:10] == b"= " and key not in cards:
                cards[key] = card[10:]
        if end is None:
            raise MapsFormatError(f"{where} has no END card within {min(limit - offset, MAX_HEADER_BLOCKS * _BLOCK)} "
                                  f"bytes (truncated FITS file or corrupt header)")
        bitpix = _header_int(cards, "BITPIX", where, -64, 64)
        if bitpix not in (8, 16, 32, 64, -32, -64):
            raise MapsFormatError(f"{where} BITPIX = {bitpix} is not one of 8, 16, 32, 64, -32, -64")
        naxis = _header_int(cards, "NAXIS", where, 0, 999)
        shape = [_header_int(cards, f"NAXIS{i}", where, 0, 2**31 - 1) for i in range(1, naxis + 1)]
        pcount = _header_int(cards, "PCOUNT", where, 0, 2**31 - 1, default=0)
        gcount = _header_int(cards, "GCOUNT", where, 1, 2**31 - 1, default=1)
        n = int(np.prod(shape, dtype=object)) if naxis else 0
        size = abs(bitpix) // 8 * gcount * (pcount + n) if naxis else 0
        data_start = offset + -(-(end - offset) // _BLOCK) * _BLOCK
        offset = data_start + -(-size // _BLOCK) * _BLOCK
        if offset > len(raw):
            raise MapsFormatError(
                f"{path}: truncated FITS file (HDU {k} needs {offset} bytes, the file has {len(raw)})"
            )
        k += 1


def _open(path: Path) -> fits.HDUList:
    """Open a (possibly gzipped) FITS file fully in memory; unreadable → MapsFormatError naming it.

    The gzip stream is decompressed here rather than by astropy: astropy 8.0 opening a ``.fits.gz``
    cut in half returns the HDUs before the cut without an error or warning (measured), so a
    truncated download would read as a file with missing extensions.
    """
    if not path.is_file():
        raise MapsFormatError(f"{path}: no such MAPS file")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise MapsFormatError(f"{path}: truncated or corrupt gzip stream ({exc})") from exc
    if not raw.startswith(b"SIMPLE  ="):
        start = raw[:40].decode("ascii", "replace").split("\n")[0]
        raise MapsFormatError(f"{path}: not a FITS file (it starts with {start!r})")
    if len(raw) % _BLOCK != 0:
        raise MapsFormatError(
            f"{path}: truncated FITS file ({len(raw)} bytes is not a multiple of {_BLOCK})"
        )
    _check_structure(raw, path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = fits.open(io.BytesIO(raw), lazy_load_hdus=False)
            for hdu in hdul:  # parse every card now: astropy parses lazily and raises VerifyError later
                list(hdu.header.values())
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError, VerifyError, ...
        raise MapsFormatError(f"{path}: not a readable FITS file ({exc})") from exc
    truncation = [str(w.message) for w in caught if "truncat" in str(w.message).lower()]
    if truncation:
        hdul.close()
        raise MapsFormatError(f"{path}: truncated FITS file ({truncation[0]})")
    return hdul


def _optional_data(hdul: fits.HDUList, name: str, path: Path) -> np.ndarray | None:
    """Data of extension ``name`` (None when absent or empty); corrupt data → MapsFormatError naming it."""
    if name not in hdul:
        return None
    try:
        return hdul[name].data
    except Exception as exc:  # corrupt BITPIX/NAXISn/XTENSION: KeyError, AttributeError, VerifyError, ...
        raise MapsFormatError(f"{path}: HDU {name!r} data unreadable ({exc})") from exc


def _hdu(hdul: fits.HDUList, name: str, path: Path) -> fits.ImageHDU:
    if name not in hdul:
        raise MapsFormatError(f"{path}: missing HDU {name!r}")
    if _optional_data(hdul, name, path) is None:
        raise MapsFormatError(f"{path}: HDU {name!r} holds no data")
    return hdul[name]


def _linked(hdul: fits.HDUList, data_hdu: fits.ImageHDU, key: str, suffix: str, path: Path):
    """The ERRDATA/QUALDATA extension linked from ``data_hdu`` (falls back to ``NAME_suffix``)."""
    name = str(data_hdu.header.get(key, f"{data_hdu.name}_{suffix}")).strip()
    return _hdu(hdul, name, path)


def _channel_plane(hdu: fits.ImageHDU, line: str, path: Path, fallback: int | None) -> np.ndarray:
    """Plane named ``line`` of a multi-channel extension (resolved from its own ``C<n>`` keys)."""
    data = hdu.data
    if data.ndim != 3:
        raise MapsFormatError(f"{path}: HDU {hdu.name!r} is not a multi-channel cube")
    channels = channel_dictionary(hdu.header)
    if channels:
        if line not in channels:
            raise MapsFormatError(
                f"{path}: HDU {hdu.name!r} has no channel {line!r} "
                f"(channels: {', '.join(sorted(channels, key=channels.get))})"
            )
        idx = channels[line]
    elif fallback is not None:
        idx = fallback
    else:
        raise MapsFormatError(f"{path}: HDU {hdu.name!r} has no C<n> channel keywords")
    if not 0 <= idx < data.shape[0]:
        raise MapsFormatError(
            f"{path}: HDU {hdu.name!r} channel {line!r} index {idx} outside {data.shape[0]} planes"
        )
    return np.asarray(data[idx])


def _triplet(hdul, name, line, path, legacy_index, *, index_hint=None):
    """(value, ivar, mask) float64/float64/int64 for ``name`` (cube: plane ``line``; image: itself)."""
    data_hdu = _hdu(hdul, name, path)
    ivar_hdu = _linked(hdul, data_hdu, "ERRDATA", "IVAR", path)
    mask_hdu = _linked(hdul, data_hdu, "QUALDATA", "MASK", path)
    if line is None:
        planes = [np.asarray(h.data) for h in (data_hdu, ivar_hdu, mask_hdu)]
        for h, p in zip((data_hdu, ivar_hdu, mask_hdu), planes):
            if p.ndim != 2:
                raise MapsFormatError(f"{path}: HDU {h.name!r} should be a single 2-D map")
        idx = -1
    elif legacy_index is not None:
        idx = legacy_index
        planes = []
        for h in (data_hdu, ivar_hdu, mask_hdu):
            if h.data.ndim != 3 or not 0 <= idx < h.data.shape[0]:
                raise MapsFormatError(f"{path}: HDU {h.name!r} has no plane {idx}")
            planes.append(np.asarray(h.data[idx]))
    else:
        _same_channels(path, data_hdu, ivar_hdu, mask_hdu)
        idx = channel_dictionary(data_hdu.header).get(line, index_hint)
        planes = [_channel_plane(h, line, path, index_hint) for h in (data_hdu, ivar_hdu, mask_hdu)]
        if idx is None:
            raise MapsFormatError(f"{path}: HDU {name!r} has no channel {line!r}")
    shapes = {p.shape for p in planes}
    if len(shapes) != 1:
        raise MapsFormatError(f"{path}: {name} value/IVAR/MASK shapes differ: {sorted(shapes)}")
    value, ivar, mask = planes
    if not np.issubdtype(mask.dtype, np.integer):
        with np.errstate(invalid="ignore"):
            bad = np.argwhere(~np.isfinite(mask) | (mask != np.round(mask)) | (mask < 0) | (mask >= 2**31))
        if bad.size:
            row, col = bad[0]
            raise MapsFormatError(
                f"{path}: HDU {mask_hdu.name!r}: {len(bad)} mask value(s) that are not 32-bit mask words, "
                f"first at spaxel (row {row}, col {col}) = {mask[row, col]:g}"
            )
    negative = np.argwhere(np.asarray(ivar) < 0)
    if negative.size:
        row, col = negative[0]
        raise MapsFormatError(
            f"{path}: HDU {ivar_hdu.name!r}: {len(negative)} negative inverse variance(s), "
            f"first at spaxel (row {row}, col {col}) = {ivar[row, col]:g}"
        )
    return value.astype(np.float64), ivar.astype(np.float64), mask.astype(np.int64), idx


def _same_channels(path: Path, *hdus: fits.ImageHDU) -> None:
    """The linked value/IVAR/MASK extensions (and the velocity's, against the flux's) must
    name their planes alike; a swapped pair in one extension would otherwise read another line."""
    reference = channel_dictionary(hdus[0].header)
    for hdu in hdus[1:]:
        channels = channel_dictionary(hdu.header)
        if channels and reference and channels != reference:
            moved = sorted(c for c in reference if channels.get(c) != reference[c])
            raise MapsFormatError(
                f"{path}: HDU {hdu.name!r} names its channels differently from {hdus[0].name!r} "
                f"({', '.join(moved[:4])} at other planes)"
            )


def _check_velocity(path: Path, name: str, velocity: np.ndarray) -> None:
    """Every stored velocity is below the speed of light (masked spaxels hold 0)."""
    bad = np.argwhere(np.abs(np.nan_to_num(velocity)) > SPEED_OF_LIGHT_KMS)
    if bad.size:
        row, col = bad[0]
        raise MapsFormatError(
            f"{path}: HDU {name!r}: {len(bad)} velocity value(s) beyond the speed of light, first at "
            f"spaxel (row {row}, col {col}) = {velocity[row, col]:g} km/s"
        )


#: Physical ranges of the PRIMARY header values read: keyword -> (lowest, whether the lowest is allowed,
#: highest). Angles in degrees (RA [0, 360], Dec [-90, 90]); R_e and the PSF FWHM in arcsec (a MaNGA IFU
#: spans at most 32″; R_e up to a degree and a FWHM up to 60″ are allowed, so only impossible values fail).
HEADER_RANGES: dict[str, tuple[float, bool, float]] = {
    "OBJRA": (0.0, True, 360.0), "OBJDEC": (-90.0, True, 90.0), "RFWHM": (0.0, False, 60.0),
    **{k: (0.0, False, 3600.0) for k in _RE_HEADER_KEYS},
}  # fmt: skip


def _header_float(header: fits.Header, key: str, path: Path) -> float:
    """PRIMARY header value ``key`` as a float (NaN if absent).

    A value that is not a number, not finite, or outside :data:`HEADER_RANGES` raises
    :class:`MapsFormatError` naming the file, the card number and the keyword.
    """
    if key not in header:
        return float("nan")
    value = header[key]
    where = f"{path}: PRIMARY header card {header.index(key) + 1} {key} = {value!r}"
    if isinstance(value, bool):
        raise MapsFormatError(f"{where} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MapsFormatError(f"{where} is not a number") from None
    if not np.isfinite(number):
        raise MapsFormatError(f"{where} is not finite")
    lo, inclusive, hi = HEADER_RANGES[key]
    if number < lo or (number == lo and not inclusive) or number > hi:
        raise MapsFormatError(f"{where} is outside {'[' if inclusive else '('}{lo:g}, {hi:g}]")
    return number


def _center_pix(hdul: fits.HDUList, shape: tuple[int, int], path: Path) -> tuple[float, float]:
    """(x, y) pixel where the SPX_SKYCOO offsets vanish (array centre if absent/degenerate/non-finite)."""
    ny, nx = shape
    default = ((nx - 1) / 2.0, (ny - 1) / 2.0)
    data = _optional_data(hdul, "SPX_SKYCOO", path)
    if data is None:
        return default
    sky = np.asarray(data, dtype=np.float64)
    if sky.shape != (2, ny, nx) or not np.isfinite(sky).all():
        return default
    # Each offset is linear in its own pixel index: off_x(col) = a*col + b, off_y(row) = c*row + d.
    cols = np.arange(nx, dtype=np.float64)
    rows = np.arange(ny, dtype=np.float64)
    a, b = np.polyfit(cols, sky[0].mean(axis=0), 1)
    c, d = np.polyfit(rows, sky[1].mean(axis=1), 1)
    if a == 0 or c == 0:
        return default
    return (-b / a, -d / c)


def read_maps(
    path: str | Path,
    *,
    line: str = "Ha-6564",
    velocity: VelocitySource = "gas",
    mask: MaskMode = "unreliable",
    legacy_channel_index: int | None = None,
) -> MapsData:
    """Read one emission line's flux and a velocity field from a DR17 DAP MAPS file.

    Parameters
    ----------
    path : ``manga-<plateifu>-MAPS-<DAPTYPE>.fits.gz`` or the short ``manga-<plateifu>-MAPS.fits.gz``
        (plain ``.fits`` also works).
    line : emission-line channel name (``C<n>`` value of ``EMLINE_GFLUX``), e.g. ``'Ha-6564'``.
    velocity : ``"gas"`` → ``EMLINE_GVEL`` plane ``line`` (tied velocities; that line's mask);
        ``"stellar"`` → ``STELLAR_VEL``.
    mask : ``"unreliable"`` (default, Marvin's) | ``"donotuse"`` | ``"any"`` (see :data:`MASK_MODES`).
    legacy_channel_index : reproduce the original work by reading this 0-based plane regardless
        of its name (the original used 24 = ``NII-6585``). Default None = select by name.

    Raises
    ------
    MapsFormatError
        Missing file/HDU/channel, not a FITS file, truncated gzip or FITS, inconsistent shapes or
        channel names, a negative IVAR, a velocity beyond the speed of light, a corrupt header card
        or extension, a PRIMARY ``REFF``/``OBJRA``/``OBJDEC``/``RFWHM`` that is not a finite number
        in its physical range (:data:`HEADER_RANGES`). The message names the file and the extension
        (or the header card and keyword).
    """
    path = Path(path)
    if velocity not in ("gas", "stellar"):
        raise ValueError(f"velocity must be 'gas' or 'stellar', got {velocity!r}")
    good_pixels(np.zeros(1, dtype=np.int64), mask)  # validates the mode early
    with _open(path) as hdul:
        header = hdul[0].header.copy()
        flux, flux_ivar, flux_mask, idx = _triplet(
            hdul, "EMLINE_GFLUX", line, path, legacy_channel_index
        )
        if legacy_channel_index is not None:
            names = {v: k for k, v in channel_dictionary(hdul["EMLINE_GFLUX"].header).items()}
            line = names.get(idx, f"index{idx}")
        if velocity == "gas":
            if legacy_channel_index is None:
                _same_channels(path, hdul["EMLINE_GFLUX"], _hdu(hdul, "EMLINE_GVEL", path))
            vel, vel_ivar, vel_mask, _ = _triplet(
                hdul, "EMLINE_GVEL", line, path, legacy_channel_index, index_hint=idx
            )
        else:
            vel, vel_ivar, vel_mask, _ = _triplet(hdul, "STELLAR_VEL", None, path, None)
        _check_velocity(path, "EMLINE_GVEL" if velocity == "gas" else "STELLAR_VEL", vel)
        if vel.shape != flux.shape:
            raise MapsFormatError(f"{path}: flux {flux.shape} and velocity {vel.shape} differ")
        r_over_re = None
        if _optional_data(hdul, "SPX_ELLCOO", path) is not None:
            ell = hdul["SPX_ELLCOO"]
            names = channel_dictionary(ell.header)
            if "R/Re" in names and ell.data.ndim == 3 and ell.data.shape[1:] == flux.shape:
                r_over_re = np.asarray(ell.data[names["R/Re"]], dtype=np.float64)
        center_pix = _center_pix(hdul, flux.shape, path)

    plateifu = str(header.get("PLATEIFU", "")).strip() or plateifu_from_path(path) or path.name
    reff = next((_header_float(header, k, path) for k in _RE_HEADER_KEYS if k in header), float("nan"))
    return MapsData(
        path=path,
        plateifu=plateifu,
        line=line,
        velocity_source=velocity,
        mask_mode=mask,
        flux=flux,
        flux_ivar=flux_ivar,
        flux_mask=flux_mask,
        flux_valid=good_pixels(flux_mask, mask) & np.isfinite(flux),
        velocity=vel,
        vel_ivar=vel_ivar,
        vel_mask=vel_mask,
        vel_valid=good_pixels(vel_mask, mask) & np.isfinite(vel),
        header=header,
        spaxel_scale=SPAXEL_SCALE_ARCSEC,
        center_radec=(_header_float(header, "OBJRA", path), _header_float(header, "OBJDEC", path)),
        center_pix=center_pix,
        reff=reff,
        r_over_re=r_over_re,
        psf_fwhm=_header_float(header, "RFWHM", path),
        channel=idx,
    )
