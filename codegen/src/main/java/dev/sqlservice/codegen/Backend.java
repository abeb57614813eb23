package dev.sqlservice.codegen;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jooq.SQLDialect;

/**
 * What differs between the servers code generation migrates on: the JDBC URL's shape, how a database is created and
 * dropped, the image a container runs and the superuser of that image. Package-private: one constant per
 * {@code Flyway*Database}.
 */
enum Backend {

    POSTGRES("PostgreSQL", SQLDialect.POSTGRES, "FlywayPostgresDatabase",
            Pattern.compile("^(jdbc:postgresql://[^/?]*)/([^?]*)(\\?.*)?$"), "postgres", '"', 5432, "postgres",
            Map.of("POSTGRES_HOST_AUTH_METHOD", "trust")) {
        @Override
        String dropSql(String database) {
            // with (force): a connection the generator failed to close must not keep the database alive
            return "drop database if exists " + quote(database) + " with (force)";
        }
    },

    MARIADB("MariaDB", SQLDialect.MARIADB, "FlywayMariaDBDatabase",
            Pattern.compile("^(jdbc:mariadb://[^/?]*)(?:/([^?]*))?(\\?.*)?$"), "", '`', 3306, "root",
            Map.of("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1", "MYSQL_ALLOW_EMPTY_PASSWORD", "yes")),

    MYSQL("MySQL", SQLDialect.MYSQL, "FlywayMySQLDatabase",
            Pattern.compile("^(jdbc:(?:mysql|mariadb)://[^/?]*)(?:/([^?]*))?(\\?.*)?$"), "", '`', 3306, "root",
            Map.of("MYSQL_ALLOW_EMPTY_PASSWORD", "yes", "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1"));

    final String displayName;
    final SQLDialect dialect;
    final String databaseClass;
    private final Pattern url;
    private final String adminDatabase;
    private final char quote;
    final int port;
    final String superuser;
    final Map<String, String> containerEnvironment;

    Backend(String displayName, SQLDialect dialect, String databaseClass, Pattern url, String adminDatabase,
            char quote, int port, String superuser, Map<String, String> containerEnvironment) {
        this.displayName = displayName;
        this.dialect = dialect;
        this.databaseClass = databaseClass;
        this.url = url;
        this.adminDatabase = adminDatabase;
        this.quote = quote;
        this.port = port;
        this.superuser = superuser;
        this.containerEnvironment = containerEnvironment;
    }

    /** The example a message shows for a URL of this backend. */
    String urlExample() {
        return switch (this) {
            case POSTGRES -> "jdbc:postgresql://host[:port]/database[?...]";
            case MARIADB -> "jdbc:mariadb://host[:port]/[?...]";
            case MYSQL -> "jdbc:mysql://host[:port]/[?...] or jdbc:mariadb://host[:port]/[?...]";
        };
    }

    boolean accepts(String jdbcUrl) {
        return url.matcher(jdbcUrl).matches();
    }

    /** The server's URL with {@code database} in place of the database it names (or the one it lacks). */
    String withDatabase(String serverUrl, String database) {
        Matcher m = url.matcher(serverUrl);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a " + displayName + " JDBC URL: " + urlExample());
        }
        return m.group(1) + "/" + database + (m.group(3) == null ? "" : m.group(3));
    }

    /**
     * The URL with connection timeouts, each only where the URL does not set its own: {@code connectSeconds} to
     * connect and log in (a server that accepts the connection and never answers fails instead of hanging the
     * build), {@code socketSeconds} for every read when positive (administration statements only: a migration
     * may rightly run for hours). PostgreSQL: {@code connectTimeout}, {@code loginTimeout},
     * {@code socketTimeout} in seconds; MariaDB/MySQL: {@code connectTimeout}, {@code socketTimeout} in ms (the
     * socket timeout also bounds the handshake there).
     */
    String withTimeouts(String jdbcUrl, int connectSeconds, int socketSeconds) {
        Map<String, Integer> timeouts = new java.util.LinkedHashMap<>();
        int unit = this == POSTGRES ? 1 : 1000;
        timeouts.put("connectTimeout", connectSeconds * unit);
        if (this == POSTGRES) {
            timeouts.put("loginTimeout", connectSeconds);
        }
        if (socketSeconds > 0) {
            timeouts.put("socketTimeout", socketSeconds * unit);
        }
        int question = jdbcUrl.indexOf('?');
        String query = question < 0 ? "" : jdbcUrl.substring(question + 1);
        StringBuilder result = new StringBuilder(jdbcUrl);
        for (Map.Entry<String, Integer> timeout : timeouts.entrySet()) {
            if (!Pattern.compile("(^|&)" + timeout.getKey() + "=", Pattern.CASE_INSENSITIVE).matcher(query).find()) {
                result.append(result.indexOf("?") < 0 ? '?' : '&').append(timeout.getKey()).append('=')
                        .append(timeout.getValue());
            }
        }
        return result.toString();
    }

    /**
     * The server's {@code host:port} as the URL names it, for messages: nothing else of the URL (its parameters
     * may hold credentials), and no user information before an {@code @}.
     */
    String hostAndPort(String jdbcUrl) {
        Matcher m = url.matcher(jdbcUrl);
        String authority = m.matches() ? m.group(1).substring(m.group(1).indexOf("//") + 2) : "?";
        authority = authority.substring(authority.lastIndexOf('@') + 1);
        return authority.isEmpty() ? "localhost:" + port : authority.contains(":") ? authority : authority + ":" + port;
    }

    /** The URL of a container's server, for the administration connection. */
    String containerUrl(String host, int mappedPort) {
        String base = this == POSTGRES ? "jdbc:postgresql://" : "jdbc:mariadb://";
        return base + host + ":" + mappedPort + "/" + adminDatabase;
    }

    String createSql(String database) {
        return "create database " + quote(database);
    }

    String dropSql(String database) {
        return "drop database if exists " + quote(database);
    }

    /** The identifier quoted; the names code generation makes have letters, digits and underscores only. */
    final String quote(String identifier) {
        return quote + identifier.replace(String.valueOf(quote), String.valueOf(quote) + quote) + quote;
    }
}
