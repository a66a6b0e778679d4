"""Talking to the API and to the target.

The rate limits (this process's pacing and the budget shared by every run of one key), one deadline per
answer, network errors named, the answer's envelope read, secrets kept out of messages, and the Singer
output written whole.
"""
