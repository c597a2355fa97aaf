"""Errors a user can cause. The CLI prints these in one line and exits with status 2."""


class StylebridgeError(ValueError):
    """Bad input that the user can fix: the message says what is wrong and what to do."""


class CheckpointError(StylebridgeError):
    """A checkpoint file is missing, corrupt, of an unknown format or does not fit the model."""


class UnsafePickleError(CheckpointError):
    """A pickle references code outside the classes we know how to read inertly."""


class DataError(StylebridgeError):
    """An image or dataset cannot be used."""
