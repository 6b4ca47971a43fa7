"""One module per `facebench` subcommand (see facebench/cli.py for the table)."""
