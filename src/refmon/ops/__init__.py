"""Operations artifacts generated from code: Alertmanager routing and Grafana dashboards.

Each has one source of truth here; the files under deploy/ and grafana/ are its
output, and a test fails when they are not current.
"""
