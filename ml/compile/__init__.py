"""Compilation of fitted models into DuckDB SQL templates (see docs/engine-contract.md)."""
