"""The course's grading engine. See README.md, "Architecture"."""
