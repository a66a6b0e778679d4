"""`kondado-report`: one self-contained HTML page of pipeline health and plan usage, from the `kondado` dbt models.

query.py reads the models (DuckDB or PostgreSQL), charts.py draws inline SVG, layout.py says what the page says
and templates/report.html.j2 (report.css inlined) places it, cli.py is the command. Needs the `report` extra:
pip install 'tap-kondado[report]'.
"""
