"""The user-facing error of the scan machinery."""

from n3fit_gpu.errors import N3fitError


class SearchError(N3fitError, ValueError):
    """A search space, scan setting or trial log is invalid; the message names the fix."""
