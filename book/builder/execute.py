"""Running the notebooks: the kernel, the parameters each notebook gets, the run order, papermill."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from builder import paths
from builder.cohorts import data_root, notebook_cohort
from builder.paths import BuildError, rel

KERNEL_NAME = "python3"  # registered below to run *this* interpreter
PROGRESS_FILE_ENV = "T2T_PROGRESS_FILE"  # = t2tcore.progress.PROGRESS_FILE_ENV (not imported: no
# t2tcore import in the driver, so that a broken package fails in a notebook's log, not here)




# --------------------------------------------------------------------- notebooks
def openmp_env() -> dict[str, str]:
    """How the chapters' OpenMP threads wait: the user's ``OMP_WAIT_POLICY`` / ``GOMP_SPINCOUNT`` if set,
    else the OpenMP runtime's default spin count (``GOMP_SPINCOUNT=300000``; libgomp's default, and it
    keeps ``import t2tcore`` from choosing sleeping threads).

    The book is a batch job, normally alone on its machine: there, threads that spin briefly while
    they wait trained the quick SR models 1.2-1.8x faster than sleeping ones (2 cores, 2026-12-07:
    a training step of U-Net-small 0.035 s against 0.062 s, VDSR-small 0.16 against 0.20 s). On a
    machine whose cores other jobs share, spinning made them slower: 1.4-2.1x beside two busy
    processes, up to 20x beside the test suite (benchmarks/bench_sr.py): build with
    ``OMP_WAIT_POLICY=PASSIVE make book`` there (the README says so).
    """
    given = {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in os.environ}
    return given or {"GOMP_SPINCOUNT": "300000"}


def register_kernel() -> None:
    """Make kernel ``python3`` mean this interpreter, whatever else is installed.

    A kernelspec in ``_build/jupyter/kernels/python3`` is put first on JUPYTER_PATH for
    this process (papermill runs in-process), so a user-level ``python3`` kernel that
    points at another Python cannot be picked up on a fresh clone.
    """
    spec_dir = paths.BUILD / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"debugger": True},
        # figures must reach the notebook even where MPLBACKEND=Agg is set (as in CI):
        # ipykernel only installs its inline backend when MPLBACKEND is unset
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
                **openmp_env()},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    dirs = [str(paths.BUILD / "jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dirs)


def notebook_parameters(nb_path: Path, profile: str) -> dict:
    """The build's parameters that ``nb_path`` declares, for ``profile``.

    ``profile``; ``data_root`` (the virtual cohort); ``out_dir`` (``_build/results/<profile>/
    <stem>``, where a chapter writes its CSV tables and figures); ``results_root``
    (``_build/results/<profile>``, read by the pages that summarise the chapters);
    ``interactive`` (False: the teaching notebooks draw static figures instead of sliders);
    and the profile's ``extra`` knobs. Parameters named in the notebook's metadata
    ``{"t2t": {"skip_parameters": [...]}}`` are not passed.
    """
    import papermill

    declared = papermill.inspect_notebook(str(nb_path))
    # a notebook can refuse a build parameter it declares (e.g. a chapter whose data_root is
    # another kind of data set than the virtual Grand Challenge cohort): metadata
    # {"t2t": {"skip_parameters": ["data_root"]}}
    meta = json.loads(nb_path.read_text(encoding="utf8")).get("metadata", {}).get("t2t", {})
    declared = {k: v for k, v in declared.items() if k not in set(meta.get("skip_parameters", []))}
    table = {
        "profile": profile,
        "data_root": rel(data_root(profile, notebook_cohort(nb_path))),
        "out_dir": rel(paths.RESULTS / profile / nb_path.stem),
        "results_root": rel(paths.RESULTS / profile),
        "interactive": False,
        **paths.PROFILES[profile]["extra"],
    }
    return {k: v for k, v in table.items() if k in declared}


def runs_last(nb_path: Path) -> bool:
    """True for a notebook whose metadata says ``{"t2t": {"run_last": true}}``."""
    meta = json.loads(nb_path.read_text(encoding="utf8")).get("metadata", {})
    return bool(meta.get("t2t", {}).get("run_last", False))


def run_order(notebooks: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """Toc order, with the ``run_last`` notebooks (pages that read the others' results) last."""
    return [e for e in notebooks if not runs_last(e[1])] + [e for e in notebooks if runs_last(e[1])]


def progress_log(profile: str, stem: str) -> Path:
    """Where the progress bars of a notebook's kernel go (``T2T_PROGRESS_FILE``)."""
    return paths.LOGS / f"{profile}-{stem}.progress.log"


def run_notebook(nb_path: Path, out_path: Path, profile: str) -> float:
    """Execute ``nb_path`` with papermill into ``out_path``; returns seconds taken.

    The kernel runs with ``T2T_PROGRESS_FILE`` pointing at :func:`progress_log`, so the
    package's progress bars land in the build log and never in the page.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params = notebook_parameters(nb_path, profile)
    paths.LOGS.mkdir(parents=True, exist_ok=True)
    log_path = paths.LOGS / f"{profile}-{nb_path.stem}.log"
    failed_copy = paths.LOGS / f"{profile}-{nb_path.stem}.failed.ipynb"
    tmp_out = out_path.with_name(out_path.stem + ".part.ipynb")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    failed_copy.unlink(missing_ok=True)
    bars = progress_log(profile, nb_path.stem)
    bars.unlink(missing_ok=True)
    saved_env = os.environ.get(PROGRESS_FILE_ENV)
    os.environ[PROGRESS_FILE_ENV] = str(bars)  # inherited by the kernel process

    pm_log = logging.getLogger("papermill")
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf8") as log:
        log.write(f"# papermill {rel(nb_path)} -> {rel(out_path)}  profile={profile}  parameters={params}\n")
        log.flush()
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        pm_log.addHandler(handler)
        old_level = pm_log.level
        pm_log.setLevel(logging.INFO)
        # The kernel process inherits file descriptor 2: point it at the log while the
        # notebook runs, so kernel chatter lands there; the progress bar (on a terminal only)
        # keeps writing to the real stderr.
        sys.stderr.flush()
        saved_fd = os.dup(2)
        term = os.fdopen(os.dup(saved_fd), "w")
        progress = {"file": term, "desc": nb_path.stem, "leave": False} if term.isatty() else False
        os.dup2(log.fileno(), 2)
        try:
            papermill.execute_notebook(
                str(nb_path),
                str(tmp_out),
                parameters=params,
                kernel_name=KERNEL_NAME,
                cwd=str(paths.ROOT),
                progress_bar=progress,
                log_output=False,
                stdout_file=log,
                stderr_file=log,
                execution_timeout=paths.PROFILES[profile]["cell_timeout_s"],
            )
        except Exception as exc:  # noqa: BLE001 (any failure of a chapter stops the build)
            log.write("\n" + "".join(traceback.format_exception(exc)))
            if tmp_out.is_file():
                tmp_out.replace(failed_copy)
            if isinstance(exc, PapermillExecutionError):
                why = f"cell {exc.exec_count}: {exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}"
            else:
                why = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            where = f"log {rel(log_path)}" + (f", executed copy {rel(failed_copy)}" if failed_copy.is_file() else "")
            raise BuildError(f"notebook {rel(nb_path)} failed ({why}); {where}") from exc
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            term.close()
            pm_log.removeHandler(handler)
            pm_log.setLevel(old_level)
            if saved_env is None:
                os.environ.pop(PROGRESS_FILE_ENV, None)
            else:
                os.environ[PROGRESS_FILE_ENV] = saved_env
    tmp_out.replace(out_path)
    return time.perf_counter() - t0


def _only_matches(stem: str, only: list[str]) -> bool:
    return any(stem == o or stem.startswith(o) or Path(o).stem == stem for o in only)
