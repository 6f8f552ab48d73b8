"""Grading a class: many (student, lesson) submissions, in parallel on one machine or over a Dask cluster.

- submissions.py: find the submissions in a folder (one notebook or .py per student and lesson);
- pool.py: grade them, serially, on a local Dask cluster (`--jobs N`) or on a running one (`--scheduler`);
- gradebook.py: one JSON and one CSV per student, and a class summary.
"""
