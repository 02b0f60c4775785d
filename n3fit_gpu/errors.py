"""The project's exception tree.

Every error a user can cause (bad runcard, unknown dataset, missing theory file, ...) is a
:class:`N3fitError`. The CLI prints such errors as one line and exits with code 2; any other
exception is a bug and keeps its traceback. Each class also inherits the matching builtin so
callers can catch ``ValueError`` / ``FileNotFoundError`` as usual.
"""


class N3fitError(Exception):
    """Root of all user-facing errors: the message names the problem and the fix."""


class RunCardError(N3fitError, ValueError):
    """The runcard is unreadable or does not validate."""


class DataError(N3fitError, ValueError):
    """Experimental data cannot be loaded or is unusable (unknown dataset, empty after cuts...)."""


class TheoryError(N3fitError, ValueError):
    """A theory (FK tables, evolution operator) is missing, corrupted or incompatible."""


class TheoryNotFoundError(TheoryError, FileNotFoundError):
    """The theory named in the runcard does not exist."""


class PDFSetError(N3fitError, ValueError):
    """A PDF set named in the runcard (e.g. ``datacuts.t0pdfset``) is missing or unusable."""


class TrainingError(N3fitError, RuntimeError):
    """Training cannot go on (e.g. every replica diverged)."""


class OutputError(N3fitError, OSError):
    """Results cannot be written where asked (e.g. output exists and --resume not given)."""


class CheckpointError(N3fitError, ValueError):
    """A fit's mid-training checkpoint does not belong to the fit being resumed."""


class FitCheckpointed(Exception):
    """Training stopped on a signal (SIGTERM, SIGUSR1) after saving a checkpoint.

    Not a user error: the CLI prints it as one line and exits with 75 (EX_TEMPFAIL, "try
    again"); ``fit --resume`` goes on from the checkpoint.
    """

    def __init__(self, epoch: int, signal: str):
        self.epoch, self.signal = epoch, signal
        super().__init__(f"checkpoint saved at epoch {epoch}; rerun with --resume")


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, raised after the finished replicas were written.

    Not a user error: the CLI prints it as one line (``str`` of it) and exits with 130.
    """

    def __init__(self, kept: int, requested: int, new: int):
        self.kept, self.requested, self.new = kept, requested, new
        super().__init__(
            f"{kept} of {requested} replicas are written ({new} finished in this run); "
            f"rerun with --resume to fit the other {requested - kept}"
        )
