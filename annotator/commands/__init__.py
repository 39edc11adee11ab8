"""One module per CLI command: each ``run(...)`` takes plain arguments and returns an exit code.

The CLI only parses arguments; these functions do the work by calling the library modules, so
tests call them (or ``cli.main([...])``) in-process.
"""
