"""The log streams' sync, by `start_element_id`.

The scroll and its pages, the seek to `start_date`, the lookback over recent logs, the progress lines, and
the state bookmarks that let every run pick up after the last log it emitted.
"""
