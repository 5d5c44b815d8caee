"""Evaluation measures: ranking metrics, bootstrap intervals and paired tests, published tables."""
