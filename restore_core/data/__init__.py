"""Data: datasets (named, folders, IDX), their checksums and downloads, and per-image seeding."""
