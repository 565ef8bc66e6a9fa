"""Statistics as one-stop desks file them (form II.06a), CSV export, and the import of past dossiers.

``definitions`` says what each number means (pure); ``query`` turns it into one SQL aggregate; ``services``
scopes and runs it; ``export`` writes the CSV; ``importer`` loads the previous system's dossiers
(``python -m bench.reporting``, outside the package, times a province-year on PostgreSQL).
"""
