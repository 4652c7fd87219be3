"""SQLAlchemy storage: schema, migrations and the Sql* implementations of the core's ports."""
