"""The ``asgd`` application: the command line, the demo and report writing.

One module per command family (:data:`real_exec.app.commands.COMMANDS`); each parses its
options, calls ``theory``, ``staleness_sim`` or ``real_exec`` and prints. This is the one
place that sees all three packages and the terminal.
"""
