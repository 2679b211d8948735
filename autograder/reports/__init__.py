"""Human-readable reports: score and benchmark tables, plots, feedback."""
