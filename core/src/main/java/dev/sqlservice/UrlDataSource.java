package dev.sqlservice;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * The data source the pool is given instead of a JDBC URL: connections come from {@link DriverManager} with the
 * URL {@link JdbcUrls#split split} from its secrets, which travel as driver properties with the user name and
 * password. The pool logs its URL at DEBUG and quotes it in errors, and the drivers log the URL they are given
 * (pgjdbc at FINE, for every URL it is asked about): none of them ever has a secret to show.
 */
final class UrlDataSource implements DataSource {

    private final String url;
    private final Properties properties = new Properties();
    private final String description;
    private volatile int loginTimeoutSeconds;
    private volatile boolean closed;

    /**
     * @throws IllegalArgumentException when the URL holds a secret where its driver reads no parameter
     */
    UrlDataSource(String url, String username, String password) {
        JdbcUrls.Split split = JdbcUrls.split(url);
        this.url = split.url();
        if (username != null) {
            properties.setProperty("user", username);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        // After user and password: a parameter of the URL wins, as it did in the URL.
        properties.putAll(split.secrets());
        this.description = JdbcUrls.describe(url);
    }

    /**
     * Adds driver settings that the URL does not set itself: the user's URL always wins.
     *
     * @return this data source
     */
    UrlDataSource withDefaults(Properties defaults) {
        String query = url.indexOf('?') < 0 ? "" : url.substring(url.indexOf('?') + 1).toLowerCase(java.util.Locale.ROOT);
        for (String name : defaults.stringPropertyNames()) {
            String key = name.toLowerCase(java.util.Locale.ROOT);
            boolean inUrl = ("&" + query).contains("&" + key + "=");
            if (!inUrl && properties.getProperty(name) == null) {
                properties.setProperty(name, defaults.getProperty(name));
            }
        }
        return this;
    }

    /**
     * Opens no connection any more; one being opened while this closes is closed as soon as it is open, so that
     * nothing outlives the {@link Database}.
     */
    void close() {
        closed = true;
    }

    @Override
    public Connection getConnection() throws SQLException {
        if (closed) {
            throw closedFailure();
        }
        return opened(DriverManager.getConnection(url, properties));
    }

    private Connection opened(Connection connection) throws SQLException {
        if (closed) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Not to be used anyway.
            }
            throw closedFailure();
        }
        return connection;
    }

    private SQLException closedFailure() {
        return new SQLException("the Database of " + description + " is closed", "08003");
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        Properties withCredentials = new Properties();
        withCredentials.putAll(properties);
        withCredentials.setProperty("user", username);
        withCredentials.setProperty("password", password);
        if (closed) {
            throw closedFailure();
        }
        return opened(DriverManager.getConnection(url, withCredentials));
    }

    /**
     * Kept, not passed on: DriverManager's login timeout is global to the JVM (HikariCP's own driver data source
     * sets it there); the drivers get theirs as properties ({@link Backend#driverDefaults}).
     */
    @Override
    public void setLoginTimeout(int seconds) {
        loginTimeoutSeconds = seconds;
    }

    @Override
    public int getLoginTimeout() {
        return loginTimeoutSeconds;
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        throw new SQLFeatureNotSupportedException();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        throw new SQLFeatureNotSupportedException();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        if (type.isInstance(this)) {
            return type.cast(this);
        }
        throw new SQLException("not a wrapper for " + type.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> type) {
        return type.isInstance(this);
    }

    /** What the pool prints for its data source: host, port and database only. */
    @Override
    public String toString() {
        return "connections to " + description;
    }
}
