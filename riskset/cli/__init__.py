"""Command-line front end (``riskset``): a thin layer over the public API."""
