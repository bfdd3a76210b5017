"""Bring your own data: flat practice-management exports → contract tables (docs/import.md).

- ``mapping.py``  the column map (YAML): read and checked key by key (``MapError``)
- ``read.py``     export files as text cells, each row with its file and line
- ``values.py``   cells as people type them ($1,234.50, 03/01/2024, 2024-03, M54.50) → values
- ``build.py``    ``import_flat``: rows + map → payers, claims, lines, imported remits and CAS
- ``suggest.py``  ``suggest_map``: headers and values → a draft map with a comment per guess
"""
