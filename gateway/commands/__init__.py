"""The CLI's command groups, one module each; gateway/cli.py puts them together."""
