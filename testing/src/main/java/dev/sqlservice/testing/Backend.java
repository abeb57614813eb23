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
    }
}
