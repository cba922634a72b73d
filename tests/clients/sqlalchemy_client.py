"""SQLAlchemy (psycopg 3 and psycopg2 dialects) against switchyard: the dialect's
startup queries, the inspector's table and column reflection, and pandas.read_sql."""
import pandas as pd
import sqlalchemy as sa

from common import HOST, PORT, ROWS, check

for driver in ("psycopg", "psycopg2"):
    engine = sa.create_engine(f"postgresql+{driver}://tester@{HOST}:{PORT}/switchyard")
    inspector = sa.inspect(engine)
    check(f"{driver}: tables", {"llm_feedback", "llm_requests"} <= set(inspector.get_table_names()), True)
    columns = {c["name"]: c["type"] for c in inspector.get_columns("llm_feedback")}
    check(f"{driver}: columns", list(columns), ["request_id", "metric", "value", "created_at"])
    check(f"{driver}: timestamptz", isinstance(columns["created_at"], sa.TIMESTAMP) and columns["created_at"].timezone, True)
    check(f"{driver}: float8", isinstance(columns["value"], sa.Float), True)
    frame = pd.read_sql("SELECT provider, count(*) AS n FROM llm_requests GROUP BY provider ORDER BY provider", engine)
    check(f"{driver}: read_sql rows", int(frame["n"].sum()), ROWS)
    frame = pd.read_sql(sa.text("SELECT * FROM llm_feedback LIMIT 5"), engine)
    check(f"{driver}: read_sql columns", list(frame.columns), ["request_id", "metric", "value", "created_at"])
    engine.dispose()
print("sqlalchemy: all checks passed")
