"""The book's studies: one module per chapter, each ``run(Settings) -> Result``, with the chapter's words beside it.

A study is what a chapter computes, apart from how the page shows it: :func:`run` takes the chapter's
parameters (a frozen ``Settings`` dataclass) and returns a ``Result`` dataclass (tables as DataFrames, the
figures' data, the sentences); the notebook in ``notebooks/`` calls it, then draws (:mod:`t2tcore.figures`)
and styles (:mod:`t2tcore.evaluation.tables`). Studies use the library below them (metrics, statistics,
alignment, the scanner, the data-access layer :mod:`t2tcore.datasets`) and nothing of ``figures`` or ``cli``.

=========  =====================================  ==========================================================
chapter    module                                 what it computes
=========  =====================================  ==========================================================
00         :mod:`~t2tcore.studies.walkthrough`    every method against exact slices of an analytic object
01         :mod:`~t2tcore.studies.scanner_qa`     the virtual scanner measured: rays, SSP, noise, thin/thick
02         :mod:`~t2tcore.studies.table3`         Table III (its tables and words: ``table3_report``;
                                                  Fig. 4: ``fig4``)
03         :mod:`~t2tcore.studies.similarity`     Fig. 7 over a cohort
04         :mod:`~t2tcore.studies.robustness`     robustness to the scanner's slice profile (its tables and
                                                  words: ``robustness_report``)
05         :mod:`~t2tcore.studies.sr_training`    Table IV: SR models trained on each simulation's pairs,
                                                  scored on real thick slices, effects with intervals
06         :mod:`~t2tcore.studies.sr_benchmark`   Table VI: model size, inference time and memory
07         :mod:`~t2tcore.studies.clinical`       Table V: airways, radiomics and survival of each input
                                                  (its words and small tables: ``clinical_report``)
Disc.      :mod:`~t2tcore.studies.discussion`     every claim of the paper judged from the chapters' tables
=========  =====================================  ==========================================================

Chapters 05-07 are functions the notebook calls in order (``read_training``, ``train_runs``,
``evaluate``, ...; ``table6``; ``run_study``, ``survival_study``, ...), not yet one ``run(Settings)``.
Their old places (``t2tcore.sr.study``, ``t2tcore.sr.benchmark.table6``, ``t2tcore.clinical.analysis``,
``t2tcore.clinical.report``) resolve here, with a DeprecationWarning, for one release.
"""
