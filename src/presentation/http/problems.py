class BadRequest(Exception):
    """A malformed request caught by the HTTP layer itself."""

    status = 400

    def __init__(self, code: str, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
