"""Imaging-derived Sigma_b pilot (spec section 9): from a galaxy image (FITS) to a background-subtracted
surface-brightness map, an exponential scale length R_d, a smoothed structure tensor and the recognition
fields d_iso / l_rec; plus the R_d comparison against the proxy R_d with bootstrap confidence intervals.

Steps per galaxy (:func:`pilot_galaxy`):

1. Image: the first 2D HDU with usable data (NaN -> 0); else a 3D cube's first plane (<= 4 planes) or its
   mean (:func:`load_image`). An input without a usable image (a SkyView "No data found" answer is a
   1-element FITS) is *unusable*: under ``PilotConfig.on_unusable="placeholder"`` (compat: what the original
   did silently) the built-in 512x512 Gaussian (sigma = 0.15 x 512 px) replaces it and the galaxy is
   flagged ``placeholder=True`` with the reason in ``image_status``; under ``"skip"`` (corrected) it is
   left out and recorded in ``skipped``; under ``"error"`` a :class:`PilotImageError` names the file.
2. Background: median after 3 passes of clipping at ``bg_clip`` x 1.4826 MAD
   (``astropy.stats.sigma_clipped_stats``); subtracted, negatives -> 0.
3. Optional deprojection about the image centre (affine, linear interpolation, edge mode "nearest") with
   the original's matrix ``Rot(-PA) @ diag(1, cos i)`` handed to the (row, col) resampler. Spec 12.21 calls
   its axes ambiguous because it was written for (x, y); read in (row, col) it is exactly the standard
   deprojection for a PA measured east of north with north = +row and east = -col: the major axis is
   turned onto the row axis and the minor axis stretched by 1/cos i (cos i floored at 1e-3). That is the
   convention of :func:`synthetic_disc_hdu`, and the tests check that an inclined synthetic disc
   deprojects onto the face-on one.
4. dx_kpc = ``dx_kpc`` or pixscale_arcsec [arcsec] x (1 arcsec in rad) x 1e3 x D [Mpc].
5. Radial profile: 0..r_max (the farthest pixel from the centre) in ``nbins`` linear bins, median per bin;
   R_d from a straight-line fit of ln I over bins with I > 0 between 10 % and 90 % of the radial range
   (all positive bins when fewer than 10) [kpc]; NaN when the slope is not negative.
6. Structure tensor of the linear image (compat) or of ln(image/peak + eps) (``mode.pilot_tensor_on_log``;
   eps = max(``log_floor_rel``, sky rms/peak) keeps the edge of the background-subtracted disc free of a ring):
   periodic central differences with spacing dx_kpc, products smoothed by a periodic Gaussian of
   sigma_pix = max(eta_sigma R_d/dx, 1) pixels (0.05 min(nx, ny) when R_d is not usable).
7. Fields: d_iso = 1/(1 + max(trS, 0)), l_rec = lambda0 (1 + kappa_rec max(trS, 0))^-1/2 [kpc].
"""

from .comparison import bootstrap_ci, rd_comparison
from .files import fits_products, pilot_products, synthetic_inputs, write_pilot, write_synthetic_pilot_inputs
from .images import (
    ARCSEC_KPC_PER_MPC, MIN_IMAGE_SIDE, LoadedImage, PilotImageError, gaussian_placeholder, load_image, no_data_hdu,
    synthetic_disc_hdu,
)  # fmt: skip
from .processing import (
    INPUT_OPTIONAL, INPUT_REQUIRED, PilotConfig, PilotGalaxy, PilotResult, deproject,
    fit_exponential_rd, pilot_galaxy, radial_profile, read_pilot_inputs, run_pilot, validate_pilot_inputs,
)  # fmt: skip

__all__ = [
    "ARCSEC_KPC_PER_MPC", "INPUT_OPTIONAL", "INPUT_REQUIRED", "MIN_IMAGE_SIDE", "LoadedImage", "PilotConfig",
    "PilotGalaxy", "PilotImageError", "PilotResult", "bootstrap_ci", "deproject",
    "fit_exponential_rd", "fits_products", "gaussian_placeholder", "load_image", "no_data_hdu", "pilot_galaxy",
    "pilot_products", "radial_profile", "rd_comparison", "read_pilot_inputs", "run_pilot", "synthetic_disc_hdu",
    "synthetic_inputs", "validate_pilot_inputs", "write_pilot", "write_synthetic_pilot_inputs",
]  # fmt: skip
