"""Thick slices from a channel-first image array and its affine: what the MONAI and TorchIO transforms run.

A deep-learning pipeline holds a thin series as an array of shape (C, I, J, K) with a 4 x 4
affine from voxel indices to RAS+ world coordinates in mm (a MONAI ``MetaTensor`` after
``LoadImage``, a TorchIO ``ScalarImage``). :func:`simulate_array` turns it into the thick
series ``t2t simulate`` makes of the same file:

* the slice positions come from the affine exactly as :func:`t2tcore.io.read_series` reads
  a NIfTI file (:func:`t2tcore.io.nifti_grid.grid_from_affine`: the same slice normal, the same
  ascending direction, so Algorithm 1's grid starts at the same end);
* the thick slices come from :func:`t2tcore.simulation.series.simulate_volume`, the function
  the command runs, channel by channel, with numpy or with torch on the array's device;
* the result keeps the input's voxel order (its in-plane axes, the direction of K); only the
  slice axis changes length, and the affine's slice column and origin move to the new slice
  positions. Without a gantry tilt the thick slices of voxel k' sit at
  ``affine @ (i, j, k0 + k' * dk, 1)`` with ``dk = interval / thin spacing``.

Positions and thicknesses in mm, images in HU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from t2tcore.simulation.series import simulate_volume

__all__ = ["simulate_array"]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] in ("torch", "monai") and hasattr(x, "device")


def simulate_array(
    data: Any,
    affine: Any,
    thickness: float,
    interval: float | None = None,
    method: str = "proposed",
    *,
    offset: float = 0.0,
    thin_thickness: float | None = None,
    sigma: float = 1.0,
    profile: Any = None,
    slice_axis: int = 2,
    name: str = "the image",
) -> tuple[Any, np.ndarray, np.ndarray]:
    """The thick series of a channel-first thin image with its affine.

    Parameters
    ----------
    data : ndarray or torch.Tensor, shape (C, I, J, K)
        Thin slices, HU; a tensor stays on its device (CPU or CUDA). Not modified.
    affine : array_like, shape (4, 4)
        Voxel -> RAS+ world (mm), as nibabel, MONAI and TorchIO give it.
    thickness : float
        Thick slice thickness (mm).
    interval : float, optional
        Distance between thick slices (mm); required by the position-based methods.
    method : str
        ``proposed`` (default) or any method of :func:`t2tcore.simulation.simulate_thick`.
    offset : float
        Start Algorithm 1's grid this many mm after the first thin slice (0: the paper's grid).
    thin_thickness : float, optional
        Thin slice thickness (mm) of the index-based methods (default: the slice spacing).
    sigma : float
        In-plane blur of ``gaussian`` (pixels).
    profile : SliceProfile or path, optional
        Measured slice profile of ``calibrated``.
    slice_axis : {0, 1, 2}
        The spatial axis of the slices (default 2, the K axis, as ``t2t`` reads NIfTI).
    name : str
        How error messages call the image.

    Returns
    -------
    (thick, affine, positions)
        ``thick`` (C, I, J, K') float32 (float64 for float64 numpy input), of the input's
        type and device, in the input's voxel order; ``affine`` (4, 4) float64 ndarray of
        the thick grid; ``positions`` (K',) float64 mm along the slice normal, in array order.

    Raises
    ------
    ValueError
        Not (C, I, J, K); fewer than 2 slices; a sheared or degenerate affine; the
        simulation's own errors (:func:`~t2tcore.simulation.series.simulate_volume`).
    """
    from t2tcore.errors import T2TError
    from t2tcore.io.nifti_grid import grid_from_affine

    is_torch = _is_torch(data)
    if data.ndim != 4:
        raise ValueError(f"{name}: expected a channel-first 3-D image (C, I, J, K), got shape {tuple(data.shape)}")
    axis = int(slice_axis) % 3 if int(slice_axis) in (-3, -2, -1, 0, 1, 2) else None
    if axis is None:
        raise ValueError(f"slice_axis must be 0, 1 or 2, got {slice_axis}")
    a = np.asarray(affine.detach().cpu() if _is_torch(affine) else affine, dtype=np.float64)
    if a.shape != (4, 4):
        raise ValueError(f"{name}: the affine must be 4 x 4, got {a.shape}")
    spatial = [d for d in range(3) if d != axis] + [axis]  # slice axis last
    a_p = a[:, spatial + [3]]
    shape_p = tuple(int(data.shape[1 + d]) for d in spatial)
    if shape_p[2] < 2:
        raise ValueError(f"{name}: {shape_p[2]} slice along axis {axis}; a thin series needs 2 or more")
    try:
        grid = grid_from_affine(a_p, shape_p, name)
    except T2TError as exc:
        raise ValueError(str(exc)) from None
    pos_k = grid.positions[::-1] if grid.layout.flip[2] else grid.positions  # position of array slice k
    perm = [0] + [1 + d for d in spatial]
    x = data.permute(*perm) if is_torch else np.transpose(data, perm)
    channels, out_pos = [], None
    for c in range(x.shape[0]):
        vol = x[c].movedim(-1, 0) if is_torch else np.ascontiguousarray(np.moveaxis(x[c], -1, 0))  # (K, I', J')
        thick, tpos = simulate_volume(
            vol, pos_k, thickness, interval, method, thin_thickness=thin_thickness, sigma=sigma,
            profile=profile, offset=offset,
        )
        if grid.layout.flip[2]:  # ascending positions run against k: keep the input's direction
            thick = thick.flip(0) if is_torch else thick[::-1]
        channels.append(thick.movedim(0, -1) if is_torch else np.moveaxis(thick, 0, -1))
        if out_pos is None:
            tpos = np.asarray(tpos.cpu() if hasattr(tpos, "cpu") else tpos, dtype=np.float64)
            out_pos = tpos[::-1].copy() if grid.layout.flip[2] else tpos
    if is_torch:
        import torch

        out = torch.stack(channels).permute(*np.argsort(perm).tolist()).contiguous()
    else:
        out = np.ascontiguousarray(np.transpose(np.stack(channels), np.argsort(perm)))
    # voxel index along k of each thick slice: positions are linear in k
    step = (pos_k[-1] - pos_k[0]) / (pos_k.size - 1)
    k = (out_pos - pos_k[0]) / step
    if k.size > 1:
        dk = (k[-1] - k[0]) / (k.size - 1)
        if np.max(np.abs(np.diff(k) - dk)) > 1e-6 * max(1.0, abs(dk)):
            raise ValueError(f"{name}: the thick slices are not evenly spaced; one affine cannot place them")
    else:
        dk = float(interval or thickness) / abs(step)
    m = np.eye(4)
    m[2, 2], m[2, 3] = dk, k[0]
    a_out = np.empty((4, 4))
    a_out[:, spatial + [3]] = a_p @ m
    return out, a_out, out_pos
