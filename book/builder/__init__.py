"""The t2t book's builder: vendor MathJax and NiiVue, make the data, run the notebooks, build the HTML.

Usage (from anywhere; ``make book`` calls it with the ``.venv`` python; ``book/build.py`` is the entry point)::

    python book/build.py --profile smoke|quick|paper [--only NAME ...] [--strict]

Steps
-----
1. **MathJax 3** and **NiiVue** (the pages' linked 3-D slice viewers) are vendored from the npm
   registry (``npm pack``, or a pinned tarball download, with an integrity check) and cached
   under ``_build/vendor/``, so the book renders math and slices with no network and a rebuild
   downloads nothing. Set ``T2T_MATHJAX_TGZ`` / ``T2T_NIIVUE_TGZ`` to a local tarball (or URL)
   to use that. NiiVue's one-file classic-script build (``dist/niivue.umd.js``) is used, so
   the viewers work when ``_build/html/index.html`` is opened from disk.
2. **Data**: if a notebook to run declares a ``data_root`` parameter, the virtual cohort
   of the profile is made by :func:`builder.cohorts.ensure_data` (``t2tcore.scanner.cohort.make_cohort``) in
   ``_build/data/virtual-<profile>``, once; a notebook whose metadata says
   ``{"t2t": {"cohort": "fibrosis"}}`` (chapter 07) gets the fibrosis cohort
   (``t2tcore.clinical.cohort.make_fibrosis_cohort``, ``_build/data/virtual-fibrosis-<profile>``).
3. **Notebooks**: exactly the notebooks listed in ``_toc.yml`` are run with papermill into
   ``_build/executed/<profile>/`` (kernel: this interpreter), in toc order except that
   notebooks whose metadata says ``{"t2t": {"run_last": true}}`` (the Discussion and
   Reproducing pages, which read what the chapters wrote) run after all the others. Each
   gets only the parameters it declares from :func:`builder.execute.notebook_parameters`. Source notebooks
   are never modified. A failing notebook stops the build with one line naming it and its
   log. Every progress bar of ``t2tcore`` goes to ``_build/logs/<profile>-<stem>.progress.log``
   (the kernel runs with ``T2T_PROGRESS_FILE`` set, see :mod:`t2tcore.progress`), the
   kernel's own stderr to ``_build/logs/<profile>-<stem>.log``. How long each notebook took
   is recorded in ``_build/results/<profile>/build_record.json`` (read by the Reproducing page).
4. **HTML**: ``_build/src/`` is assembled (``_config.yml``, ``_toc.yml``, ``book/``, the
   executed notebooks, MathJax) and built by ``jupyter-book`` with execution off into
   ``_build/html/``. **No stderr reaches a page**: stderr stream outputs still left in an
   executed notebook (a warning, a bar printed by something else than ``t2tcore.progress``)
   are taken out of the copy that is rendered, written to
   ``_build/logs/<profile>-<stem>.stderr.log`` and listed in the build summary; ``--strict``
   makes them an error. (Stripping rather than failing: a third-party deprecation warning
   should not break the book, but it must not be hidden either, so it is logged and listed
   at the end of every build. A message a reader must see belongs in the page as text.)
   The chapters' CSV tables, ``_build/results/<profile>/<stem>/*.csv``, are copied to
   ``_build/html/results/<stem>/`` where the pages link them (``../results/<stem>/x.csv``).
   Last, ``_build/html/.t2t-build.json`` records the profile and a hash of the sources
   (:func:`builder.stamp.source_hash`), so that the browser test can reuse an up-to-date build.

Adding a chapter is one line in ``_toc.yml``: ``- file: notebooks/NN_name``.

Modules, one concept each
-------------------------
``paths``     where the build reads and writes, the build profiles, ``BuildError``
``toc``       the documents of ``_toc.yml``
``vendor``    MathJax and NiiVue from the npm registry, integrity-checked and cached
``cohorts``   the virtual cohort a notebook asks for, made once (step 2)
``execute``   the kernel, each notebook's parameters, the run order, papermill (step 3)
``record``    the build record (seconds, parameters, sources of each notebook's last run)
``assemble``  ``_build/src`` without stderr, jupyter-book, the chapters' CSVs (step 4)
``stamp``     the hash of the sources and the stamp of an up-to-date build
``pdf``       the PDF: Markdown twins of HTML outputs, the LaTeX builder
``cli``       ``main``: the steps in order, the command line
"""
