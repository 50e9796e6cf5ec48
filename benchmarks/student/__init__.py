"""The student minutiae network: its training data (the teacher's answers) and its training.

Run with the `train` extra (torch); nothing here is imported by the server.
"""
