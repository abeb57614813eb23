package dev.sqlservice.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * One server test databases are made on: where to connect as the user who creates them, and its {@link Backend}.
 * Thread-safe.
 */
final class Server implements AutoCloseable {

    private final String adminUrl;
    private final String user;
    private final String password;
    private final Backend backend;
    private final String vendor;
    private final AutoCloseable stop;

    /**
     * @param adminUrl a database the user may connect to, to create and drop others
     * @param stop stops the server when the run ends (the embedded server, a container), or does nothing
     */
    Server(String adminUrl, String user, String password, AutoCloseable stop) {
        this.adminUrl = adminUrl;
        this.user = user;
        this.password = password;
        this.backend = Backend.of(adminUrl);
        this.vendor = adminUrl.startsWith("jdbc:postgresql:") ? "postgresql"
                : adminUrl.startsWith("jdbc:mysql:") ? "mysql" : "mariadb";
        this.stop = stop;
    }

    Backend backend() {
        return backend;
    }

    /** What {@code {vendor}} in a Flyway location becomes on this server. */
    String vendor() {
        return vendor;
    }

    String user() {
        return user;
    }

    String password() {
        return password;
    }

    String url(String database) {
        return Urls.withDatabase(adminUrl, database);
    }

    Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(url(database), user, password);
    }

    /**
     * Creates an empty database.
     *
     * @throws IllegalStateException naming the SQLState and the missing right when the user may not; its message
     *     and cause never hold the URL's parameters or the password
     */
    void create(String database) {
        try (Connection c = DriverManager.getConnection(adminUrl, user, password); Statement s = c.createStatement()) {
            s.execute(backend.createDatabase(database));
        } catch (SQLException e) {
            if (backend.isMissingRight(e)) {
                throw new IllegalStateException("the test harness cannot create a database on "
                        + Urls.withoutParameters(adminUrl) + ": the user '" + user + "' lacks "
                        + backend.createDatabaseRight(user) + " (SQLState " + e.getSQLState() + ": " + clean(e)
                        + ")", cleanCopy(e));
            }
            throw new IllegalStateException("the test harness cannot create a database on "
                    + Urls.withoutParameters(adminUrl) + " (SQLState " + e.getSQLState() + "): " + clean(e)
                    + noDriver(e), cleanCopy(e));
        }
    }

    /** Drops a database the harness created, and what it made beside it; nothing if it is gone already. */
    void drop(String database) {
        try (Connection c = DriverManager.getConnection(adminUrl, user, password); Statement s = c.createStatement()) {
            backend.endSessions(c, database);
            for (String sql : backend.dropDatabase(database)) {
                s.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("the test harness cannot drop its database " + database + " on "
                    + Urls.withoutParameters(adminUrl) + " (SQLState " + e.getSQLState() + "): " + clean(e),
                    cleanCopy(e));
        }
    }

    /** The driver's message, with the URLs it quotes cut to their safe form and the password masked. */
    String clean(SQLException e) {
        return Urls.clean(e.getMessage(), adminUrl, password);
    }

    /** A copy of a driver failure safe to chain as a cause (see {@link Urls#cleanCopy}). */
    SQLException cleanCopy(SQLException e) {
        return Urls.cleanCopy(e, adminUrl, password);
    }

    /** Any failure's message, cleaned as {@link #clean(SQLException)}. */
    String clean(Throwable e) {
        return Urls.clean(e.getMessage(), adminUrl, password);
    }

    /** A copy of any failure safe to chain as a cause. */
    Throwable cleanCopy(Throwable e) {
        return Urls.cleanCopy(e, adminUrl, password);
    }

    /** For DriverManager's "No suitable driver": which driver the URL needs. */
    private String noDriver(SQLException e) {
        if (!String.valueOf(e.getMessage()).startsWith("No suitable driver")) {
            return "";
        }
        if (adminUrl.startsWith("jdbc:postgresql:")) {
            return ". No JDBC driver for PostgreSQL on the test classpath: add org.postgresql:postgresql";
        }
        if (adminUrl.startsWith("jdbc:mysql:")) {
            return ". No JDBC driver accepts jdbc:mysql: URLs on the test classpath: add com.mysql:mysql-connector-j,"
                    + " or use org.mariadb.jdbc:mariadb-java-client with a jdbc:mariadb: URL (MariaDB Connector/J 3"
                    + " takes jdbc:mysql: only with permitMysqlScheme in the URL)";
        }
        return ". No JDBC driver for MariaDB on the test classpath: add org.mariadb.jdbc:mariadb-java-client";
    }

    @Override
    public void close() throws Exception {
        stop.close();
    }
}
