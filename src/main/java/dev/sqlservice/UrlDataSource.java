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

    @Override
    public Connection getConnection() throws SQLException {
        return DriverManager.getConnection(url, properties);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        Properties withCredentials = new Properties();
        withCredentials.putAll(properties);
        withCredentials.setProperty("user", username);
        withCredentials.setProperty("password", password);
        return DriverManager.getConnection(url, withCredentials);
    }

    /** What HikariCP's own driver data source does: the drivers read DriverManager's login timeout. */
    @Override
    public void setLoginTimeout(int seconds) {
        DriverManager.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() {
        return DriverManager.getLoginTimeout();
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
