"""The book's numbers, pinned: producers that read a chapter's result CSVs, and the stored fixture."""
