package dev.sqlservice;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.Set;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;

/**
 * What the library must know of one kind of database server, chosen once at {@code build()}: how it confirms a
 * cancel, what its sessions need, and which driver settings bound a dead connection.
 */
abstract sealed class Backend {

    /** How long a cancelled statement may take to end before its connection is aborted. */
    static final Duration CANCEL_GRACE = Duration.ofSeconds(1);

    /**
     * The backend of a dialect.
     *
     * @throws IllegalArgumentException for a dialect sqlservice does not support, naming the supported ones
     */
    static Backend of(SQLDialect dialect) {
        return switch (dialect.family()) {
            case POSTGRES -> Postgres.INSTANCE;
            case MARIADB -> MariaDb.MARIADB;
            case MYSQL -> MariaDb.MYSQL;
            default -> throw new IllegalArgumentException("sqlservice does not support the dialect " + dialect
                    + "; supported: POSTGRES, MARIADB, MYSQL");
        };
    }

    /** Whether this failure is the server saying that it cancelled the statement on request. */
    abstract boolean isCancelConfirmation(DataAccessException e);

    /** Whether an interrupted query may end with a normal (meaningless) result instead of an error. */
    abstract boolean endsInterruptedQueriesNormally();

    /**
     * Whether the driver reads a result set in fetch-size batches (a server-side cursor) only inside a transaction:
     * pgjdbc buffers the whole result in autocommit mode, so a stream outside a transaction runs in one of its own.
     */
    abstract boolean streamsOnlyInTransactions();

    /**
     * Whether closing a result set before its end makes the driver read and discard the rest (MariaDB's streaming
     * result), so that a stream closed early outside a transaction closes its connection instead.
     */
    abstract boolean readsRestOfResultOnClose();

    /**
     * SQL run on a connection before it streams a result, and after (to put the session back); null when the
     * backend needs none.
     */
    String[] streamSessionSql() {
        return null;
    }

    /**
     * Cancels on the server what {@code statement}'s connection is running while more rows of its open result are
     * read; by default the statement's own cancel.
     */
    void cancelReading(Statement statement) throws SQLException {
        statement.cancel();
    }

    /** Whether {@link #unfitSession} checks anything. */
    boolean checksSessions() {
        return false;
    }

    /**
     * Checks a connection of a data source the library did not configure, the first time it is used.
     *
     * @return null when the session is fit for the library, otherwise why it is not
     */
    String unfitSession(Connection connection) throws SQLException {
        return null;
    }

    /**
     * The SQL of a statement as it is sent, given the SQL jOOQ rendered: a backend may wrap it so that it does
     * not depend on session state anyone could have changed.
     */
    String statementSql(String sql, int maxRows) {
        return sql;
    }

    /**
     * Where a statement's first keyword starts: after leading white space, parentheses and comments
     * ({@code -- …}, {@code # …}, {@code /* … *}{@code /}).
     */
    static int keywordStart(String sql) {
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (Character.isWhitespace(c) || c == '(') {
                i++;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-' || c == '#') {
                int end = sql.indexOf('\n', i);
                i = end < 0 ? n : end + 1;
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*' && !(i + 2 < n && sql.charAt(i + 2) == '!')) {
                int end = sql.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else {
                break;
            }
        }
        return i;
    }

    /** Whether the statement starts with {@code keyword} (case-insensitive), comments aside. */
    static boolean startsWithKeyword(String sql, String keyword) {
        int i = keywordStart(sql);
        return sql.regionMatches(true, i, keyword, 0, keyword.length())
                && (i + keyword.length() == sql.length() || !Character.isLetterOrDigit(sql.charAt(i + keyword.length()))
                        && sql.charAt(i + keyword.length()) != '_');
    }

    /**
     * Whether a statement outside a transaction is all-or-nothing, so that a cancel the server confirms means
     * nothing of it took effect. Procedures ({@code CALL}) may commit part of their work before they are
     * stopped: PostgreSQL's may {@code COMMIT}, MariaDB's commit statement by statement in autocommit mode;
     * PostgreSQL's {@code DO} blocks may {@code COMMIT} too.
     */
    boolean isAtomic(String sql) {
        return !startsWithKeyword(sql, "call");
    }

    /** SQL run on each new connection of the pool the library creates; null for none. */
    String sessionInitSql() {
        return null;
    }

    /**
     * Driver settings for the connections of the pool the library creates: connecting and logging in end within
     * {@code connect}, a cancel signal within {@link #CANCEL_GRACE}, and dead peers are looked for (TCP keepalive).
     * Settings in the user's URL win.
     */
    abstract Properties driverDefaults(Duration connect);

    /** Driver settings for a liveness probe's own connection: every read ends within {@code bound} too. */
    abstract Properties probeSettings(Duration bound);

    /** The server's id of a connection's session (PostgreSQL's backend pid, MariaDB's thread id). */
    abstract long sessionId(Connection connection) throws SQLException;

    /**
     * A query with one bind, the {@link #sessionId}, returning a row while that session is running a statement on
     * the server (not idle: a session that finished while our statement is still outstanding lost its client).
     */
    abstract String sessionAliveSql();

    /**
     * Ends a connection at once from any thread: a statement blocked reading from it fails. Returns quickly; the
     * caller runs it on a thread of its own all the same.
     */
    void abort(Connection connection, java.util.concurrent.Executor executor) throws SQLException {
        connection.abort(executor);
    }

    /** A driver getter of the physical connection under a pool's proxy, found by name (no driver class needed). */
    static long driverLong(Connection connection, String getter) throws SQLException {
        Connection physical = connection.unwrap(Connection.class);
        try {
            return ((Number) physical.getClass().getMethod(getter).invoke(physical)).longValue();
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new SQLException("cannot read the session id (" + getter + ") of " + physical.getClass().getName(), e);
        }
    }

    /** Whole seconds, rounded up, at least one: the unit of pgjdbc's timeouts. */
    static String seconds(Duration duration) {
        return Long.toString(Math.max(1, (duration.toMillis() + 999) / 1000));
    }

    static final class Postgres extends Backend {
        static final Postgres INSTANCE = new Postgres();

        @Override
        boolean isCancelConfirmation(DataAccessException e) {
            return "57014".equals(e.sqlState());
        }

        @Override
        boolean endsInterruptedQueriesNormally() {
            return false;
        }

        @Override
        boolean isAtomic(String sql) {
            return super.isAtomic(sql) && !startsWithKeyword(sql, "do");
        }

        @Override
        boolean streamsOnlyInTransactions() {
            return true;
        }

        @Override
        boolean readsRestOfResultOnClose() {
            return false;
        }

        /**
         * pgjdbc's {@code Statement.cancel()} does nothing once {@code executeQuery} has returned, even while a
         * fetch of the open result runs: the connection's {@code cancelQuery()} sends the cancel regardless.
         */
        @Override
        void cancelReading(Statement statement) throws SQLException {
            Connection physical = statement.getConnection().unwrap(Connection.class);
            try {
                physical.getClass().getMethod("cancelQuery").invoke(physical);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause() instanceof SQLException s ? s : new SQLException(e.getCause());
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new SQLException("cannot cancel on " + physical.getClass().getName(), e);
            }
        }

        @Override
        Properties driverDefaults(Duration connect) {
            Properties p = new Properties();
            p.setProperty("connectTimeout", seconds(connect));
            // pgjdbc's default 0 waits forever for a server that accepted the TCP connection but never answers.
            p.setProperty("loginTimeout", seconds(connect));
            p.setProperty("cancelSignalTimeout", seconds(CANCEL_GRACE));
            p.setProperty("tcpKeepAlive", "true");
            return p;
        }

        @Override
        Properties probeSettings(Duration bound) {
            Properties p = driverDefaults(bound);
            p.setProperty("socketTimeout", seconds(bound));
            p.setProperty("ApplicationName", "sqlservice liveness probe");
            return p;
        }

        @Override
        long sessionId(Connection connection) throws SQLException {
            return driverLong(connection, "getBackendPID");
        }

        @Override
        String sessionAliveSql() {
            return "select 1 from pg_stat_activity where pid = ? and state in ('active', 'fastpath function call')";
        }
    }

    /**
     * MariaDB and MySQL. {@code OffsetDateTime} values travel as UTC ({@link MariaDbTimestamps}), and
     * {@code TIMESTAMP} columns are read and written in the session time zone, which any statement (or a pool
     * handed in) may have changed: instants would then be stored and read shifted, without any error. On MariaDB
     * every query and write the library sends therefore runs with {@code SET STATEMENT time_zone = '+00:00' FOR},
     * whatever the session says, at no extra round trip. MySQL has no {@code SET STATEMENT}: its sessions are set
     * to UTC when the library's pool opens them, and those of a data source handed in are checked on every lease.
     */
    static final class MariaDb extends Backend {
        static final MariaDb MARIADB = new MariaDb(false);
        static final MariaDb MYSQL = new MariaDb(true);
        private static final java.util.regex.Pattern QUERY_OR_WRITE =
                java.util.regex.Pattern.compile("(?i)[\\s(]*(select|insert|update|delete|replace|with)\\b");
        private final boolean mysql;

        private MariaDb(boolean mysql) {
            this.mysql = mysql;
        }

        /**
         * Connector/J applies JDBC {@code maxRows} by prefixing {@code SET STATEMENT sql_select_limit = n FOR},
         * which it no longer does to a statement that starts with our own {@code SET STATEMENT}: the limit joins
         * ours.
         */
        @Override
        String statementSql(String sql, int maxRows) {
            java.util.regex.Matcher m = QUERY_OR_WRITE.matcher(sql).region(keywordStart(sql), sql.length());
            if (mysql || !m.lookingAt()) {
                return sql;
            }
            boolean query = m.group(1).equalsIgnoreCase("select") || m.group(1).equalsIgnoreCase("with");
            return "set statement time_zone = '+00:00'" + (maxRows > 0 && query ? ", sql_select_limit = " + maxRows : "")
                    + " for " + sql;
        }
        private static final Set<String> UTC = Set.of("+00:00", "+0:00", "UTC", "Etc/UTC", "Z", "GMT", "Etc/GMT");
        private static final int QUERY_INTERRUPTED = 1317;

        @Override
        boolean isCancelConfirmation(DataAccessException e) {
            return e.getCause() instanceof SQLException s && s.getErrorCode() == QUERY_INTERRUPTED;
        }

        @Override
        boolean endsInterruptedQueriesNormally() {
            return true;
        }

        @Override
        boolean streamsOnlyInTransactions() {
            // Connector/J 3 streams any result whose statement has a fetch size > 0, reading that many rows from
            // the socket at a time (the server's writes wait on TCP flow control): autocommit is fine.
            return false;
        }

        @Override
        boolean readsRestOfResultOnClose() {
            return true;
        }

        /**
         * The server sends a streamed result ahead until the socket's buffers are full, then waits in its write;
         * after {@code net_write_timeout} (60 s by default) it drops the connection. A consumer may take longer
         * between rows: the stream's session waits as long as it needs (a year), and gets the server's default
         * back afterwards.
         */
        @Override
        String[] streamSessionSql() {
            return new String[] {"set session net_write_timeout = 31536000",
                "set session net_write_timeout = @@global.net_write_timeout"};
        }

        @Override
        boolean checksSessions() {
            return mysql;
        }

        @Override
        String unfitSession(Connection connection) throws SQLException {
            try (Statement s = connection.createStatement();
                    ResultSet r = s.executeQuery("select @@session.time_zone, @@system_time_zone")) {
                r.next();
                String zone = r.getString(1);
                if (UTC.contains(zone) || "SYSTEM".equalsIgnoreCase(zone) && UTC.contains(r.getString(2))) {
                    return null;
                }
                return "the dataSource's sessions use time_zone '" + zone + "', but sqlservice reads and writes"
                        + " TIMESTAMP values as UTC and needs time_zone = '+00:00' on every connection (otherwise"
                        + " OffsetDateTime values are stored shifted): set it in your pool (HikariCP:"
                        + " connectionInitSql \"set time_zone = '+00:00'\"), or build with url(...) instead";
            }
        }

        @Override
        String sessionInitSql() {
            return "set time_zone = '+00:00'";
        }

        @Override
        Properties driverDefaults(Duration connect) {
            Properties p = new Properties();
            // Connector/J also bounds Statement.cancel() (a new connection sending KILL QUERY) and abort() with it.
            p.setProperty("connectTimeout", Long.toString(Math.max(1, connect.toMillis())));
            p.setProperty("tcpKeepAlive", "true");
            return p;
        }

        @Override
        Properties probeSettings(Duration bound) {
            Properties p = driverDefaults(bound);
            p.setProperty("socketTimeout", Long.toString(Math.max(1, bound.toMillis())));
            return p;
        }

        @Override
        long sessionId(Connection connection) throws SQLException {
            return driverLong(connection, "getThreadId");
        }

        /**
         * Connector/J's {@code abort()} first sends {@code KILL} over a new connection and closes the socket only
         * after that (on a dead network: after its connect timeout). The socket itself is closed first here, so
         * the blocked read fails at once; {@code abort()} then only tidies up.
         */
        @Override
        void abort(Connection connection, java.util.concurrent.Executor executor) throws SQLException {
            try {
                Connection physical = connection.unwrap(Connection.class);
                Object client = physical.getClass().getMethod("getClient").invoke(physical);
                for (Class<?> type = client.getClass(); type != null; type = type.getSuperclass()) {
                    try {
                        java.lang.reflect.Field field = type.getDeclaredField("socket");
                        field.setAccessible(true);
                        if (field.get(client) instanceof java.net.Socket socket) {
                            socket.close();
                        }
                        break;
                    } catch (NoSuchFieldException next) {
                        // look in the superclass
                    }
                }
            } catch (ReflectiveOperationException | RuntimeException | java.io.IOException e) {
                // Another driver version: its own abort() does the job, only more slowly.
            }
            connection.abort(executor);
        }

        @Override
        String sessionAliveSql() {
            return "select 1 from information_schema.processlist where id = ? and command <> 'Sleep'";
        }
    }
}
