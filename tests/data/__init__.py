"""Datasets, importers, embedding, filters, workloads and ground truth."""
