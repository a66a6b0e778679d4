import pytest

# The shared checks of tests/dbt_scenario.py show what differed when they fail, as test modules do.
pytest.register_assert_rewrite("tests.dbt_scenario")
