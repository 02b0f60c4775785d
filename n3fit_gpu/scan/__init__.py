"""The PDF side of hyperparameter scans: search space, k-fold fits, penalties, reports."""
