"""``book/build.py``: the four steps of a build, and its command line (see :mod:`builder`)."""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

from builder import paths
from builder.assemble import assemble_source, build_html, copy_results
from builder.cohorts import ensure_data, notebook_cohort
from builder.execute import _only_matches, notebook_parameters, register_kernel, run_notebook, run_order, runs_last
from builder.paths import BuildError, rel, say
from builder.pdf import build_pdf
from builder.record import read_record, update_record
from builder.stamp import source_hash, write_stamp
from builder.toc import toc_entries
from builder.vendor import vendor_mathjax, vendor_niivue

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="book/build.py",
        description="Run the notebooks listed in _toc.yml with papermill and build the HTML book.",
    )
    parser.add_argument("--profile", choices=sorted(paths.PROFILES), default="quick",
                        help="data and compute size: " + "; ".join(f"{k}: {v['about']}" for k, v in paths.PROFILES.items()))
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="run only these notebooks (stem or prefix, e.g. 00); the others reuse their last "
                             "run with this profile, or appear without outputs")
    parser.add_argument("--strict", action="store_true",
                        help="turn Sphinx warnings, and stderr output left in a notebook, into errors")
    parser.add_argument("--pdf", action="store_true",
                        help="also build the book as one PDF (_build/latex/); runs only the notebooks whose "
                             "last run is missing or older than their source, unless --only says otherwise")
    args = parser.parse_args(argv)
    profile = args.profile
    t_start = time.perf_counter()
    try:
        say(f"t2t book, profile '{profile}' ({paths.PROFILES[profile]['about']})")
        paths.STAMP.unlink(missing_ok=True)  # a build that stops half-way is not an up-to-date build
        entries = toc_entries()
        digest = source_hash(entries)
        notebooks = [(d, p) for d, p in entries if p.suffix == ".ipynb"]
        if args.only:
            unknown = [o for o in args.only if not any(_only_matches(p.stem, [o]) for _, p in notebooks)]
            if unknown:
                raise BuildError(f"--only {' '.join(unknown)}: not in _toc.yml (notebooks: "
                                 f"{', '.join(p.stem for _, p in notebooks) or 'none'})")
        to_run = [(d, p) for d, p in notebooks if not args.only or _only_matches(p.stem, args.only)]
        if args.pdf and not args.only:  # make pdf after make book: reuse what is up to date
            done = paths.BUILD / "executed" / profile
            to_run = [(d, p) for d, p in to_run if not (done / f"{d}.ipynb").is_file()
                      or (done / f"{d}.ipynb").stat().st_mtime < p.stat().st_mtime]
            if any(not runs_last(p) for _, p in to_run):  # the summary pages read what the others wrote
                to_run += [(d, p) for d, p in notebooks if runs_last(p) and (d, p) not in to_run]

        say("[1/4] MathJax (offline math) and NiiVue (slice viewers)")
        vendor_dirs = [vendor_mathjax(), vendor_niivue()]

        say("[2/4] data")
        cohorts = [notebook_cohort(p) for _, p in to_run if "data_root" in notebook_parameters(p, profile)]
        for cohort in dict.fromkeys(cohorts):  # each cohort once, in chapter order
            ensure_data(profile, cohort)
        if not cohorts:
            say("      no notebook to run declares data_root: nothing to make")

        say(f"[3/4] notebooks: {len(to_run)} to run of {len(notebooks)} in _toc.yml")
        register_kernel()
        executed_dir = paths.BUILD / "executed" / profile
        executed: dict[str, Path] = {}
        complete = True
        ordered = run_order(notebooks)
        for i, (docname, nb) in enumerate(ordered, 1):
            out = executed_dir / f"{docname}.ipynb"
            tag = f"({i}/{len(ordered)}) {rel(nb)}"
            if (docname, nb) in to_run:
                say(f"      {tag} ...")
                update_record(profile, docname, nb, status="running",
                              parameters=notebook_parameters(nb, profile))
                try:
                    seconds = run_notebook(nb, out, profile)
                except BuildError:
                    update_record(profile, docname, nb, status="failed")
                    raise
                update_record(profile, docname, nb, status="run", seconds=round(seconds, 1),
                              finished=datetime.datetime.now().isoformat(timespec="seconds"), source_sha256=digest)
                say(f"      {tag}: done in {seconds:.0f} s")
                executed[docname] = out
            elif out.is_file():
                stale = out.stat().st_mtime < nb.stat().st_mtime
                complete &= not stale
                say(f"      {tag}: reusing the last '{profile}' run" + (" (older than its source)" if stale else ""))
                executed[docname] = out
            else:
                complete = False
                say(f"      {tag}: not run (--only), shown without outputs")

        say("[4/4] HTML (jupyter-book, execution off)")
        moved = assemble_source(entries, executed, vendor_dirs, profile)
        for docname, n in moved.items():
            stem = Path(docname).name
            say(f"      stderr: {n} block(s) of {docname} kept out of the page; they are in "
                f"{rel(paths.LOGS / f'{profile}-{stem}.stderr.log')}")
        if moved and args.strict:
            raise BuildError(f"--strict: stderr output in {', '.join(moved)} (see the logs above)")
        index = build_html(args.strict)
        n_csv = copy_results(profile)
        say(f"      {n_csv} CSV table(s) of the chapters copied to {rel(paths.HTML / 'results')}")
        write_stamp(profile, digest, complete, moved)
        if args.pdf:
            say("[+] PDF (jupyter-book, LaTeX builder)")
            pdf = build_pdf()
            say(f"      {rel(pdf)}")
    except BuildError as exc:
        print(f"book/build.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("book/build.py: interrupted", file=sys.stderr)
        return 130
    say(f"Book built in {time.perf_counter() - t_start:.0f} s. Open {rel(index)}")
    say(f"  (file://{index})")
    rec = read_record(profile).get("notebooks", {})
    times = [(d, e.get("seconds")) for d, e in rec.items() if e.get("seconds") is not None]
    if times:
        say("  last measured time per notebook: "
            + ", ".join(f"{Path(d).name} {s:.0f} s" for d, s in times))
    if moved:
        say(f"  warning: stderr output kept out of {len(moved)} page(s): "
            + ", ".join(f"{d} ({n})" for d, n in moved.items()) + f"; see {rel(paths.LOGS)}/*.stderr.log")
    return 0
