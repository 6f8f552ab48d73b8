"""Tools for students working through the course: progress, status, hints, reset and watch.

Everything here answers without importing torch, except what runs checks (`course status --check`,
`course watch`, `course hint --solution` before the checks have passed), which goes through the grader.
"""
