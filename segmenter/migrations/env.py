"""Alembic environment: runs on the connection that ``segmenter.store.migrate`` hands over."""
from alembic import context

from segmenter.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic -x url=...` from the command line
    from sqlalchemy import create_engine

    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///segmenter.db")
    with create_engine(url).begin() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      transactional_ddl=True)
    context.run_migrations()
