"""Batch analysis of many recordings, locally or on a Dask cluster, with tidy collated tables (docs/batch.md).

Layout of an output folder ``OUT`` (stepcount's convention, style.md §3.7)::

    OUT/<recording_id>/<recording_id>-Impacts.csv     one folder per recording, written atomically
                      <recording_id>-Sessions.csv     (a temporary folder renamed into place), the same
                      <recording_id>-Daily.csv        files as ``impactlab analyze -o``; -Info.json
                      <recording_id>-PlanCheck.csv    has an extra ``batch`` key: recording and subject
                      <recording_id>-Info.json        id, input and settings hashes, options
    OUT/collated/Daily.parquet, Sessions.parquet, PlanCheck.parquet, Summary.parquet   (or .csv)
    OUT/collated/Summary-Dictionary.csv               what each Summary column means, with units
    OUT/errors.csv                                    failed recordings and why
    OUT/manifest.json                                 every recording: status, hashes, timings

The package, one job per module:

- :mod:`~impactlab.batch.options`: :class:`BatchOptions` (the options of ``impactlab analyze`` by
  name, their :class:`~impactlab.config.AnalysisConfig`, the settings hash);
- :mod:`~impactlab.batch.inputs`: :func:`find_inputs` (which files: folders walked, content
  sniffed, non-recordings skipped) and :func:`recording_ids`;
- :mod:`~impactlab.batch.subjects`: a subjects CSV or ``--subject-pattern`` -> :class:`Subject`;
- :mod:`~impactlab.batch.worker`: :func:`analyze_file`, one recording on a worker, calling
  :func:`impactlab.pipeline.analyze` directly;
- :mod:`~impactlab.batch.cluster`: :func:`run_batch` and :func:`open_client` (Dask distributed,
  the checks a cluster needs); :mod:`~impactlab.batch.results`: progress, result, manifest;
- :mod:`~impactlab.batch.collate`: :func:`collate`, the Summary and its data dictionary.

A recording is up to date when its folder holds an ``-Info.json`` whose input hash (SHA-256 of the
file) and settings hash (the options, the content of files they name, such as a plan, and the
impactlab version) match; it is then skipped unless ``force``. Failures caused by the data
(:class:`~impactlab.errors.ImpactlabError`) are remembered the same way in the manifest and not
retried on an unchanged file; other failures are retried.
"""

from __future__ import annotations

from .cluster import BatchProgress, BatchResult, open_client, run_batch
from .collate import SUMMARY_COLUMNS, collate
from .inputs import Inputs, expand_paths, find_inputs, recording_ids, sniff_format
from .options import BatchOptions, analysis_option_defaults
from .subjects import Subject, read_subjects
from .worker import analyze_file

__all__ = [
    "SUMMARY_COLUMNS",
    "BatchOptions",
    "BatchProgress",
    "BatchResult",
    "Inputs",
    "Subject",
    "analysis_option_defaults",
    "analyze_file",
    "collate",
    "expand_paths",
    "find_inputs",
    "open_client",
    "read_subjects",
    "recording_ids",
    "run_batch",
    "sniff_format",
]
