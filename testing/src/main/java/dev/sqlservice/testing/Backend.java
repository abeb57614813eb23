package dev.sqlservice.testing;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Everything the harness says to one kind of server, in one place per backend: creating and dropping databases,
 * and bringing a migrated database back to the state its migrations left (seed rows, sequences, AUTO_INCREMENT
 * counters). Chosen once per server from its JDBC URL; the rest of the harness has no dialect switch.
 */
interface Backend {

    /**
     * The backend for a JDBC URL.
     *
     * @throws IllegalStateException for a URL of another database
     */
    static Backend of(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:postgresql:")) {
            return new PostgresBackend();
        }
        if (jdbcUrl.startsWith("jdbc:mariadb:") || jdbcUrl.startsWith("jdbc:mysql:")) {
            return new MariaDbBackend();
        }
        throw new IllegalStateException("the test harness supports PostgreSQL, MariaDB and MySQL servers (jdbc:postgresql:,"
                + " jdbc:mariadb:, jdbc:mysql:), not " + Urls.withoutParameters(jdbcUrl));
    }

    /** The statement that creates an empty database of this name (a quoted identifier). */
    String createDatabase(String name);

    /** The statements that drop this database and what the harness made beside it, if they exist. */
    String[] dropDatabase(String name);

    /** What to grant a user whose {@code create database} was refused, for the error message. */
    String createDatabaseRight(String user);

    /** Whether this failure of {@code create database} means the user lacks the right to. */
    boolean isMissingRight(SQLException e);

    /**
     * Ends the sessions still connected to this database (and to what the harness made beside it), so that it can
     * be dropped at once; nothing where dropping does that itself.
     */
    void endSessions(Connection admin, String database) throws SQLException;

    /**
     * Sets up the harness's own connection: bounds how long its statements wait for a lock, and what the
     * fingerprint query needs.
     */
    void configureSession(Connection connection, int seconds) throws SQLException;

    /** Whether this failure is a lock wait that ran out ({@link #configureSession}). */
    boolean isLockTimeout(SQLException e);

    /**
     * Ends the sessions on the database of this connection, other than this one, that hold a transaction (the ones
     * that can hold the locks a reset waits for).
     *
     * @return one line per session ended: its id, what it runs or ran last, since when
     */
    java.util.List<String> endTransactions(Connection connection) throws SQLException;

    /**
     * Records the migrated state of the database this connection is on (tables with their rows copied aside,
     * sequence and AUTO_INCREMENT values), so that {@link Snapshot#reset} can bring it back.
     */
    Snapshot capture(Connection connection, String database) throws SQLException;

    /** The migrated state of one database and the way back to it. Used by one thread at a time. */
    interface Snapshot {

        /**
         * Brings the database back to the captured state, touching only what changed since: a table that was
         * written (by any connection, committed or not yet vacuumed) is emptied, and refilled from its copy when the
         * migrations had put rows in it; counters are set back.
         *
         * @return how many tables were emptied
         */
        int reset(Connection connection) throws SQLException;

        /**
         * Whether the schema (tables, columns, constraints, indexes, types, sequences) differs from the captured
         * one: DDL since the capture, which a reset cannot undo. One query.
         */
        boolean schemaChanged(Connection connection) throws SQLException;

        /** What the capture changed in the test database so that resets are exact (e.g. sequence caches), one line each. */
        default java.util.List<String> adjustments() {
            return java.util.List.of();
        }
    }
}
