"""A second file with the same basename, so a bare basename is ambiguous."""


class OtherPool:
    """Nothing but a name in another directory."""

    def take(self) -> None:
        return None
