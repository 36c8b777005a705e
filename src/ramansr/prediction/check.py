"""A test area's prediction against its measured HR scan: band image, component maps and every channel.

:func:`check_prediction_file` (the ``prediction_check`` stage) runs three checks at the registered window:
the band image (:func:`check_prediction`), each component map's true error beside its LR consistency
(:func:`map_errors`), and the spectral fidelity at every channel (:func:`spectral_fidelity`: PSNR per
channel and the angle between spectra). Each scores the rebuilt cube on the LR scan's scale (the
measured HR scan calibrated to it, :func:`ramansr.convention.calibrate_to_lowres`), with linear
interpolation of the LR scan alongside as the baseline.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from skimage.metrics import peak_signal_noise_ratio

from ramansr.bands import band_image
from ramansr.convention import calibrate_to_lowres, normalize_maps
from ramansr.io import Scan, read_scan
from ramansr.io_utils import load_npz, read_json, write_json
from ramansr.metrics import crop_window, minmax, score
from ramansr.preprocess import align_scan, scale_with_range, spectral_chain
from ramansr.register import upscale


def check_prediction(predicted, lowres, measured, position, factor):
    """Score a predicted HR band image against the measured HR scan's of the same area.

    Two scales, each for the predicted image (cropped at the registered
    window) and for linear interpolation of the LR scan's band image, the
    baseline:

    - ``minmax`` (paper-comparable): every band image min-max normalised on
      its own, blind to intensity errors;
    - ``common``: the measured HR band image brought to the LR scan's units
      (:func:`ramansr.convention.calibrate_to_lowres` against the LR band image:
      the objectives collect different intensities), then all images
      normalised with the LR band image's (low, high), so a wrong contrast or
      a lifted background costs.

    PSNR and SSIM use data_range 1.

    Parameters
    ----------
    predicted : ndarray, (factor h, factor w)
        The band image of the rebuilt cube.
    lowres : ndarray, (h, w)
    measured : ndarray, (H, W)
        The LR and HR scans' band images (offset and baseline removed, as the rebuilt cube's).
    position : (X, Y)
    factor : int

    Returns
    -------
    dict
        ``model`` and ``linear``: {psnr, ssim, psnr_common, ssim_common}
        each; the position and the HR image's calibration (gain, offset).
    """
    window = measured.shape
    candidates = {
        "model": crop_window(predicted, position, window),
        "linear": crop_window(upscale(lowres, factor), position, window),
    }
    gain, offset = calibrate_to_lowres(lowres, measured, position, factor)
    _, low, high = normalize_maps(lowres[None])

    def common(image):
        return scale_with_range(image[None].astype(np.float32), low, high, axis=0)[0]

    result = {"position": [float(v) for v in position], "calibration": [gain, offset]}
    for name, image in candidates.items():
        own = score(minmax(image), minmax(measured))
        shared = score(common(image), common(gain * measured + offset))
        result[name] = {**own, "psnr_common": shared["psnr"], "ssim_common": shared["ssim"]}
    return result


def check_prediction_file(
    predicted_mat,
    maps_path,
    lowres_path,
    highres_path,
    registration_path,
    nmf_path,
    geometry_path,
    out_path,
    *,
    settings,
    band,
):
    """The ``prediction_check`` stage: one test area's prediction against its measured HR scan, as JSON.

    Three checks at the registered window: :func:`check_prediction` at ``band`` (the config's
    ``predict: band``); every component map's LR consistency (from the prediction's
    ``maps_path``) beside its true error against the area's HR map
    (:func:`map_errors`, with the area's decomposition ``nmf_path``), under ``maps``; and the
    spectral fidelity at every channel the area's scans share (:func:`spectral_fidelity`,
    both scans put on the area's channels and grid by
    :func:`ramansr.preprocess.align_scan` with the area's geometry), under ``spectral``.
    The measured scans go through the run's spectral chain first (``settings``, the config's
    ``preprocess:``; :func:`ramansr.preprocess.spectral_chain`): the rebuilt cube holds the
    Raman signal alone, without the detector offset and the fluorescence baseline.
    """
    registration = read_json(registration_path)
    position, factor = (registration["X"], registration["Y"]), registration["settings"]["factor"]
    record = read_json(geometry_path)
    lowres, highres, predicted = read_scan(lowres_path), read_scan(highres_path), read_scan(predicted_mat)
    signals, wavenumbers = measured_signals(lowres, highres, record, settings)
    first, stop = record["channels"]
    predicted_cube = predicted.cube[..., first:stop]
    band_images = [
        band_image(Scan(cube, wavenumbers, None, name, {}), band)
        for cube, name in (
            (predicted_cube, predicted_mat),
            (signals["lowres"], lowres_path),
            (signals["highres"], highres_path),
        )
    ]
    result = {"band": list(band), **check_prediction(*band_images, position, factor)}
    result["maps"] = component_map_checks(load_npz(maps_path), load_npz(nmf_path), position, factor)
    spectral = spectral_fidelity(predicted_cube, signals["lowres"], signals["highres"], position, factor)
    result["spectral"] = {"wavenumbers": [float(v) for v in wavenumbers], **spectral}
    write_json(result, out_path)


def measured_signals(lowres, highres, record, settings):
    """An area's measured scans as the rebuilt cube is: the Raman signal alone, on the area's channels and grid.

    Parameters
    ----------
    lowres, highres : ramansr.io.Scan
    record : dict
        The area's geometry (``geometry.json`` entry): what :func:`ramansr.preprocess.align_scan` needs.
    settings : mapping
        The config's ``preprocess:`` (:func:`ramansr.preprocess.spectral_chain`).

    Returns
    -------
    signals : dict
        ``lowres`` and ``highres`` -> the chain's signal, (rows, cols, channels).
    wavenumbers : ndarray
        The area's channels, which both now share.
    """
    signals = {}
    for scan, which in ((lowres, "lowres"), (highres, "highres")):
        cube, wavenumbers = align_scan(scan.cube, scan.wavenumbers, which, record, lowres.wavenumbers)
        signals[which], _ = spectral_chain(cube, wavenumbers, settings, name=scan.name or which)
    return signals, wavenumbers


def component_map_checks(prediction, area, position, factor):
    """Each predicted component map's LR consistency beside its true error against the area's HR map.

    Parameters
    ----------
    prediction : mapping
        The prediction's ``maps.npz`` (:func:`ramansr.prediction.files.write_prediction`).
    area : mapping
        The area's decomposition (``nmf.npz``).
    position : (X, Y)
    factor : int

    Returns
    -------
    list of dict
        Per component: component, area_component (the area's component it was paired with,
        :func:`map_errors`), consistency_psnr, true_psnr.
    """
    true_psnr, matched = map_errors(
        prediction["predicted_maps"],
        prediction["lowres_maps"],
        area["lowres_maps"],
        area["highres_maps"],
        position,
        factor,
    )
    return [
        {"component": k, "area_component": int(j), "consistency_psnr": float(c), "true_psnr": float(t)}
        for k, (j, c, t) in enumerate(zip(matched, prediction["consistency_psnr"], true_psnr, strict=True))
    ]


def channel_psnr(prediction, reference, data_range):
    """PSNR (dB) at every channel of two cubes (skimage's, one channel at a time).

    Parameters
    ----------
    prediction, reference : ndarray, (rows, cols, channels)
    data_range : array-like, (channels,)
        Each channel's data range (positive).

    Returns
    -------
    ndarray of float64, (channels,)
    """
    prediction, reference = np.asarray(prediction, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if prediction.shape != reference.shape:
        raise ValueError(f"cubes of different shapes: {prediction.shape} and {reference.shape}")
    data_range = np.broadcast_to(np.asarray(data_range, dtype=float), prediction.shape[-1:])
    return np.array(
        [
            peak_signal_noise_ratio(reference[..., c], prediction[..., c], data_range=data_range[c])
            for c in range(prediction.shape[-1])
        ]
    )


def spectral_angle(prediction, reference):
    """Angle (degrees) between the two cubes' spectra at every pixel.

    Blind to a spectrum's scale (the objectives' collection), not to an offset.
    A zero spectrum on either side has no direction: its angle is NaN.

    Parameters
    ----------
    prediction, reference : ndarray, (..., channels)

    Returns
    -------
    ndarray of float64, the cubes' shape without the channel axis
    """
    prediction, reference = np.asarray(prediction, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    norms = np.linalg.norm(prediction, axis=-1) * np.linalg.norm(reference, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.sum(prediction * reference, axis=-1) / norms
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def spectral_fidelity(predicted, lowres, measured, position, factor):
    """A rebuilt HR cube, and linear interpolation of the LR cube, against the measured HR cube at every channel.

    Each channel is scored on the LR scan's scale, as the CH-band check's
    ``common`` scale: the measured HR channel image is brought to the LR
    units (:func:`ramansr.convention.calibrate_to_lowres` against the LR channel
    image, gain and offset) and the data range is the LR channel image's
    (max - min). The spectral angle compares the spectra as measured (blind to
    the objectives' different collection), at every pixel of the window.

    Parameters
    ----------
    predicted : ndarray, (factor h, factor w, channels)
        The rebuilt cube, in the LR scan's units, on the upscaled LR grid.
    lowres : ndarray, (h, w, channels)
        The LR scan.
    measured : ndarray, (H, W, channels)
        The HR scan, on the same channels.
    position : (X, Y)
        The registered window's corner in the upscaled LR grid.
    factor : int

    Returns
    -------
    dict
        ``channel_psnr``: {model, linear} -> list of PSNR (dB) per channel;
        ``spectral_angle_deg``: {model, linear} -> mean angle over the window's pixels.
    """
    window = measured.shape[:2]
    channels = measured.shape[2]
    model = np.stack([crop_window(predicted[..., c], position, window) for c in range(channels)], axis=-1)
    linear = np.stack(
        [crop_window(upscale(lowres[..., c], factor), position, window) for c in range(channels)], axis=-1
    )
    calibrated = np.empty(measured.shape, dtype=np.float64)
    for c in range(channels):
        gain, offset = calibrate_to_lowres(lowres[..., c], measured[..., c], position, factor)
        calibrated[..., c] = gain * measured[..., c] + offset
    # a channel without contrast in the LR scan has no range to score on
    data_range = np.maximum(np.ptp(lowres.reshape(-1, channels), axis=0), np.finfo(np.float32).eps)
    return {
        "channel_psnr": {
            name: [float(v) for v in channel_psnr(cube, calibrated, data_range)]
            for name, cube in (("model", model), ("linear", linear))
        },
        "spectral_angle_deg": {
            name: float(np.nanmean(spectral_angle(cube, measured)))
            for name, cube in (("model", model), ("linear", linear))
        },
    }


def map_errors(predicted_maps, lowres_maps, area_lowres_maps, area_highres_maps, position, factor):
    """The true error of each predicted component map: PSNR against the measured HR map of that component.

    A prediction fits its own NMF on the LR scan, whose components need not
    come in the order of the area's decomposition (``decompose`` stage): each
    predicted component is paired with the area's component whose LR map
    correlates best with its own (one to one, scipy's ``linear_sum_assignment``).
    The area's HR map is calibrated to the predicted component's LR map
    (:func:`ramansr.convention.calibrate_to_lowres`) and scored against the
    predicted map at the window with data_range 1 (both maps are on the LR
    map's normalised scale), as the evaluation's ``common`` scale does.

    Parameters
    ----------
    predicted_maps : ndarray, (k, factor h, factor w)
    lowres_maps : ndarray, (k, h, w)
        The prediction's LR maps, normalised as ``predicted_maps``.
    area_lowres_maps : ndarray, (k, h, w)
    area_highres_maps : ndarray, (k, H, W)
        The area's decomposition.
    position : (X, Y)
    factor : int

    Returns
    -------
    psnr : ndarray of float64, (k,)
    matched : ndarray of int, (k,)
        The area's component paired with each predicted one.
    """
    k = len(lowres_maps)
    flat = np.concatenate([np.reshape(lowres_maps, (k, -1)), np.reshape(area_lowres_maps, (len(area_lowres_maps), -1))])
    correlation = np.nan_to_num(np.corrcoef(flat)[:k, k:])
    _, matched = linear_sum_assignment(-correlation)
    psnr = []
    for component, area_component in enumerate(matched):
        highres = np.asarray(area_highres_maps[area_component], dtype=np.float64)
        gain, offset = calibrate_to_lowres(lowres_maps[component], highres, position, factor)
        window = crop_window(predicted_maps[component], position, highres.shape)
        psnr.append(score(window, gain * highres + offset)["psnr"])
    return np.array(psnr), matched
