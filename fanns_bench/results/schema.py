"""The columns of a result row. One row per (run key): a method with one build and one
search configuration, on one filter type and selectivity bucket, at one k and thread count.
"""

from __future__ import annotations

import pyarrow as pa

STATUS_OK, STATUS_FAILED, STATUS_UNSUPPORTED = "ok", "failed", "unsupported"
#: issue 22: measured, but the method broke its filter without declaring approximate filtering
STATUS_INVALID = "invalid"
MEASURED = (STATUS_OK, STATUS_INVALID)  # statuses of rows that hold a measurement (ids, recall)

SCHEMA = pa.schema(
    [
        ("key", pa.string()),  # stable hash of everything that defines the measurement
        ("status", pa.string()),  # ok | failed | unsupported | invalid
        ("reason", pa.string()),  # why failed/unsupported (null when ok)
        ("experiment", pa.string()),
        ("dataset", pa.string()),
        ("dataset_hash", pa.string()),
        ("dataset_count", pa.int64()),
        ("dimension", pa.int64()),
        ("metric", pa.string()),
        ("workload", pa.string()),
        ("filter_type", pa.string()),  # e.g. EM, R, EMIS, EM+R, none
        ("selectivity_bucket", pa.float64()),  # target bucket the queries were generated for
        ("selectivity", pa.float64()),  # mean achieved selectivity of the queries
        ("selectivity_min", pa.float64()),  # lowest achieved selectivity among the queries
        ("selectivity_median", pa.float64()),
        ("selectivity_max", pa.float64()),
        ("distinct_predicates", pa.int64()),  # different filters among the row's queries
        ("n_queries", pa.int64()),
        ("k", pa.int64()),
        ("method", pa.string()),
        ("method_package", pa.string()),  # distribution that provides the method (fanns-bench for built-ins)
        ("method_version", pa.string()),  # its version
        ("build_params", pa.string()),  # JSON, sorted keys
        ("search_params", pa.string()),  # JSON, sorted keys
        ("threads", pa.int64()),  # query threads
        ("build_threads", pa.int64()),  # threads the build really used (Method.build_threads_used)
        ("recall", pa.float64()),  # paper's: sum hits / sum min(k, |gt|) (micro-average)
        ("recall_tie_aware", pa.float64()),  # mean per-query tie-aware recall
        ("recall_per_query", pa.list_(pa.float32())),
        ("filter_violations", pa.int64()),  # returned ids that do not satisfy their filter
        ("qps", pa.float64()),  # end to end (predicates -> filter input -> ids): n / median batch time
        ("qps_mean", pa.float64()),  # mean of the per-repetition rates
        ("qps_std", pa.float64()),  # standard deviation of the per-repetition rates
        ("qps_best", pa.float64()),
        ("qps_given_filter", pa.float64()),  # search alone, filter input prepared beforehand
        ("qps_given_filter_std", pa.float64()),
        ("batch_seconds", pa.list_(pa.float64())),  # every end-to-end repetition's wall time
        ("search_seconds", pa.list_(pa.float64())),  # every given-filter repetition's wall time
        ("latency_p50_ms", pa.float64()),  # from a single-query pass
        ("latency_p95_ms", pa.float64()),
        ("latency_p99_ms", pa.float64()),
        ("filter_seconds", pa.float64()),  # median prepare_filters time of the batch (inside qps)
        ("attribute_index_seconds", pa.float64()),  # building the dataset's attribute index (once)
        ("attribute_index_bytes", pa.int64()),
        ("build_seconds", pa.float64()),
        ("index_bytes", pa.int64()),  # Method.memory_bytes(): the index, see its docstring
        # Memory of the job's whole process group (the worker and everything it starts:
        # a method's own worker process, a database server and its backends), as the sum
        # of the processes' PSS, sampled by the sweep (runner/memory.py). The peaks are
        # above `baseline_rss_bytes` (0 if below it): build = peak during `build`; search =
        # peak during this point's measurement (reset per point, so it includes the index
        # the method holds while searching).
        ("build_peak_rss_bytes", pa.int64()),
        ("search_peak_rss_bytes", pa.int64()),
        ("baseline_rss_bytes", pa.int64()),  # the idle worker with the dataset loaded
        ("distance_computations", pa.float64()),  # per query, when the method reports it
        ("ids", pa.list_(pa.int64())),  # returned ids, n_queries x k row-major, -1 padded
        # issue 16 determinism: which repeated build of the same build configuration
        # (runner.builds; 0 when built once) and whether the method declares this build
        # identical run to run (Method.deterministic(); null when nothing was built)
        ("build_repeat", pa.int64()),
        ("deterministic", pa.bool_()),
        # issue 16 measurement (runner/measure.py, clocks.py, noise.py). `qps`, `qps_best`,
        # `batch_seconds` keep their meaning: seconds of ONE batch pass, qps = n / median.
        ("repetition_passes", pa.int64()),  # batch passes per timed repetition (>= runner.min_repetition_s)
        ("seconds_per_query", pa.float64()),  # median batch seconds / n_queries, end to end
        ("cpu_seconds", pa.list_(pa.float64())),  # per repetition: CPU s per pass, process group + children
        ("qps_cpu", pa.float64()),  # n / median cpu_seconds; null when threads > 1
        ("cpu_wall_ratio", pa.float64()),  # CPU s / wall s over the end-to-end repetitions
        ("load_avg", pa.float64()),  # 1-minute load average, highest during the point
        ("involuntary_switches", pa.int64()),  # of the process group during the timed repetitions
        ("qps_min", pa.float64()),  # lowest per-repetition rate (qps_best: highest)
        ("qps_iqr", pa.float64()),  # interquartile range of the per-repetition rates
        ("noisy", pa.bool_()),  # runner/noise.py: spread, CPU/wall at one thread, load
        ("noisy_reason", pa.string()),  # why (reasons joined with "; "); null when not noisy
        # issue 22 integrity: answers checked against their filters and matches
        ("violation_rate", pa.float64()),  # filter_violations / returned ids (0 when none returned)
        ("short_queries", pa.int64()),  # queries given fewer than k ids although >= k items match
        ("empty_slots", pa.int64()),  # the -1 slots of those queries
        ("method_stats", pa.string()),  # JSON of every counter Method.stats() returned (per search)
        # issue 16 drift (runner/schedule.py, probe.py, noise.py): machine speed during the job
        (
            "drift",
            pa.float64(),
        ),  # max/min - 1 of the job's round speed factors; null: < 2 points measured together
        ("probe_ratio", pa.float64()),  # run-start probe time / the job's median probe time (< 1: slower now)
        ("search_cpus", pa.string()),  # CPUs the searches were pinned to ("3" or "2,3"); null: not pinned
        # issue 16 processes (runner.processes, runner/handover.py): a point's repetitions
        # taken in several fresh processes of its job, spread over the sweep (pyperf's idea)
        ("processes", pa.int64()),  # processes whose repetitions the row's figures combine
        ("qps_processes", pa.list_(pa.float64())),  # per process: n / its median batch seconds
        # issue 20 reports from Parquet alone: what the report needs to know of the method
        ("method_threading", pa.string()),  # its class's `threading`: threads | single
        # issue 21 routing: the forms of the point's predicates (filters/shape.py) and the
        # method's registry name, so a policy learned from rows maps queries and builds methods
        ("filter_shapes", pa.list_(pa.string())),
        ("method_name", pa.string()),  # the registry name (or module:Class) the method key resolved to
        ("workload_digest", pa.string()),  # workload + dataset content: where the ground truth is
        ("methodology_version", pa.int64()),
        ("cpu_model", pa.string()),
        ("cpu_count", pa.int64()),
        ("hostname", pa.string()),
        ("git_commit", pa.string()),
        ("versions", pa.string()),  # JSON: python, numpy, faiss, method libraries
        ("fanns_bench_version", pa.string()),
        ("timestamp", pa.timestamp("s", tz="UTC")),
    ]
)

COLUMNS = SCHEMA.names
