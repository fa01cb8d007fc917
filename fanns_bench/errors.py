"""One exception type per layer, each carrying a message a user can act on."""


class FannsBenchError(Exception):
    """Base class of every error fanns-bench raises on purpose."""


class ConfigError(FannsBenchError):
    """A configuration names something that does not exist or does not fit."""


class DatasetError(FannsBenchError):
    """A dataset on disk is missing, malformed or inconsistent."""


class WorkloadError(FannsBenchError):
    """A predicate or workload does not fit the dataset it is applied to."""


class MethodError(FannsBenchError):
    """A method cannot be built, or cannot answer the request it was given."""


class ResultsError(FannsBenchError):
    """A results file or directory is missing or unreadable."""
