"""`kondado-report`: one self-contained HTML page of pipeline health and plan usage, from the `kondado` dbt models.

query.py reads the models (DuckDB or PostgreSQL), charts.py draws inline SVG, layout.py writes the page,
cli.py is the command. Needs the `report` extra: pip install 'tap-kondado[report]'.
"""
