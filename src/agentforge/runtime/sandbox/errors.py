"""The sandbox's own failure, apart from the modules that raise it (base, disk) so neither imports the other."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start, backend missing) — not the command."""
