package dev.sqlservice;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Properties;
import java.util.StringJoiner;
import org.jooq.SQLDialect;
import org.jooq.VisitListener;
import org.jooq.exception.DataAccessException;

/**
 * Everything the core knows of one kind of database server: its one home, chosen once at {@code build()} from
 * the JDBC URL or the dialect ({@link #of}, {@link #forUrl}). Code outside the backends never asks which server
 * it talks to; it asks its {@code Backend}.
 *
 * <p>The contract, in the order a {@link Database} uses it:
 * <ul>
 *   <li><b>Identity</b>: the jOOQ {@link #dialect}, the JDBC URL prefix that selects it ({@link #urlPrefix}),
 *       the {@code {vendor}} name of Flyway locations ({@link #vendor}), and how the driver reads a URL
 *       parameter's value ({@link #urlParameterValue}: the secrets taken out of the URL must reach the driver
 *       exactly as it would have read them).</li>
 *   <li><b>Connections</b>: driver settings of the pool the library creates ({@link #driverDefaults}) and of a
 *       liveness probe ({@link #probeSettings}), session set-up ({@link #sessionInitSql}), the check of sessions
 *       of a data source handed in ({@link #checksSessions}, {@link #unfitSession}), the server's session id and
 *       the query that tells whether it is still running ({@link #sessionId}, {@link #sessionAliveSql}), and a
 *       fast {@link #abort}.</li>
 *   <li><b>Statements</b>: the SQL as sent ({@link #statementSql}), the lexer of {@code :named} parameters in
 *       plain SQL ({@link #namedParameters}), a jOOQ {@link VisitListener} that adapts binds to the server
 *       ({@link #visitListener}), whether a statement is all-or-nothing ({@link #isAtomic}).</li>
 *   <li><b>Cancel and errors</b>: how the server confirms a cancel ({@link #isCancelConfirmation},
 *       {@link #endsInterruptedQueriesNormally}), how a statement that is reading rows is cancelled
 *       ({@link #cancelReading}), and how it says that it shuts down ({@link #isServerShutdown}). Errors keep the
 *       driver's SQLState otherwise; a backend's own statements translate their own errors (MariaDB's upsert
 *       guard).</li>
 *   <li><b>Streaming</b>: {@link #streamsOnlyInTransactions}, {@link #readsRestOfResultOnClose},
 *       {@link #streamSessionSql}.</li>
 *   <li><b>{@code save} and {@code saveAll}</b>: the upsert statements ({@link #upserts}: the SQL, how many rows
 *       one statement carries, how stored rows are read back, the catalog query for generated columns), and the
 *       value a timestamp primary key is stored as ({@link #sentTimestamp}, {@link #storedTimestamp}), so that
 *       records are matched to their stored rows. The other key rules (decimals at their scale, {@code char(n)}
 *       without trailing spaces, {@code -0.0 = 0.0}) hold on every supported server and stay in
 *       {@link Upserts.KeyColumn}.</li>
 * </ul>
 * Backends are stateless singletons, safe to share between threads and {@code Database}s.
 *
 * <h2>Adding a backend</h2>
 * Write one class, {@code XyzBackend extends Backend}, in this package, with a singleton, implementing the
 * abstract methods above (overriding the defaults where the server differs), its upsert statements as a nested
 * {@link UpsertStatements} (see {@link PostgresBackend} and {@link MariaDbBackend}), and add the singleton to
 * {@link #supported()}. Its tests: the suite run against that server ({@code SQLSERVICE_TEST_URL}); the suite's
 * per-backend expectations (error codes, lexer cases) name what differs. No other class of the core asks for the
 * dialect, with three limits a new backend must check:
 * <ul>
 *   <li>{@link #namedParameters()} chooses one of the two rule sets of {@link NamedSql} (PostgreSQL's, or
 *       MySQL's backticks and {@code #} comments); a server with other quoting or comment rules (SQLite's
 *       {@code [ident]}) needs a third rule set there.</li>
 *   <li>{@link #endsInterruptedQueriesNormally()} makes {@link Calls} report an interrupted query with MariaDB's
 *       own error (SQLState 70100, code 1317).</li>
 *   <li>{@link #isServerShutdown} is asked of every backend for every failure (a call can fail before it knows
 *       its connection), so a new backend's test must not match another server's errors.</li>
 * </ul>
 * The test harness ({@code sqlservice-testing}) and the code generator ({@code sqlservice-codegen}) have their own
 * per-backend homes for their administrative SQL.
 */
abstract class Backend {

    /** How long a cancelled statement may take to end before its connection is aborted. */
    static final Duration CANCEL_GRACE = Duration.ofSeconds(1);

    /**
     * Every backend sqlservice supports, in the order they are listed in messages. A method rather than a
     * constant: the backends' singletons are initialized after this class.
     */
    static List<Backend> supported() {
        return List.of(PostgresBackend.INSTANCE, MariaDbBackend.MARIADB, MariaDbBackend.MYSQL);
    }

    /**
     * The backend of a dialect (of its family: any PostgreSQL version is {@code POSTGRES}).
     *
     * @throws IllegalArgumentException for a dialect sqlservice does not support, naming the supported ones
     */
    static Backend of(SQLDialect dialect) {
        for (Backend backend : supported()) {
            if (backend.dialect().family() == dialect.family()) {
                return backend;
            }
        }
        StringJoiner names = new StringJoiner(", ");
        supported().forEach(backend -> names.add(backend.dialect().name()));
        throw new IllegalArgumentException("sqlservice does not support the dialect " + dialect + "; supported: " + names);
    }

    /** The backend whose driver reads this JDBC URL, or null (also for a null URL). */
    static Backend forUrl(String url) {
        if (url != null) {
            for (Backend backend : supported()) {
                if (url.startsWith(backend.urlPrefix())) {
                    return backend;
                }
            }
        }
        return null;
    }

    /** The URL prefixes of the supported backends, for messages: "jdbc:postgresql:, jdbc:mariadb:, jdbc:mysql:". */
    static String supportedUrlPrefixes() {
        StringJoiner prefixes = new StringJoiner(", ");
        supported().forEach(backend -> prefixes.add(backend.urlPrefix()));
        return prefixes.toString();
    }

    /** The jOOQ dialect of this backend; {@link #of} maps every dialect of its family here. */
    abstract SQLDialect dialect();

    /** The start of the JDBC URLs of this backend's driver ({@code jdbc:postgresql:}). */
    abstract String urlPrefix();

    /** The name Flyway locations use for the {@code {vendor}} placeholder ({@code postgresql}). */
    abstract String vendor();

    /**
     * A URL query parameter's value as the driver reads it: {@code raw} as written in the URL; by default the
     * driver takes it as it is.
     *
     * @throws IllegalArgumentException when the driver could not read the value, naming the parameter (never its
     *     value)
     */
    String urlParameterValue(String name, String raw) {
        return raw;
    }

    /** The rules by which {@code :named} parameters are found in plain SQL (quotes, comments, operators). */
    abstract NamedSql.Dialect namedParameters();

    /** A listener every query of a {@link Database} goes through, adapting binds to the server; null for none. */
    VisitListener visitListener() {
        return null;
    }

    /** The jOOQ settings of a {@link Database}, adapted to what this backend's calls can send; by default as given. */
    org.jooq.conf.Settings settings(org.jooq.conf.Settings settings) {
        return settings;
    }

    /** The upsert statements of {@code save} and {@code saveAll}. */
    abstract UpsertStatements upserts();

    /** The value the driver sends for a timestamp bind: by default the value itself. */
    OffsetDateTime sentTimestamp(OffsetDateTime value) {
        return value;
    }

    /** The value the driver sends for a timestamp bind: by default the value itself. */
    LocalDateTime sentTimestamp(LocalDateTime value) {
        return value;
    }

    /**
     * The instant a timestamp column of {@code digits} fractional digits (0 to 6) stores for {@code sent} (a
     * {@link #sentTimestamp}, as UTC): what a stored row's key is compared with.
     */
    abstract Instant storedTimestamp(Instant sent, int digits);

    /** Whether this failure is the server saying that it cancelled the statement on request. */
    abstract boolean isCancelConfirmation(DataAccessException e);

    /**
     * Whether a failure with this SQLState (not null) and vendor error code is the server ending the session
     * because it shuts down: the statement was stopped and nothing of it committed.
     */
    abstract boolean isServerShutdown(String sqlState, int errorCode);

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
        return keywordStart(sql, false);
    }

    /**
     * {@link #keywordStart(String)}; with {@code mariaDbComments}, a {@code /*M!} comment (MariaDB's executable
     * comment, code on MariaDB) is not skipped either.
     */
    static int keywordStart(String sql, boolean mariaDbComments) {
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (Character.isWhitespace(c) || c == '(') {
                i++;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-' || c == '#') {
                int end = sql.indexOf('\n', i);
                i = end < 0 ? n : end + 1;
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*' && !(i + 2 < n && sql.charAt(i + 2) == '!')
                    && !(mariaDbComments && sql.startsWith("M!", i + 2))) {
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
        return startsWithKeyword(sql, keywordStart(sql), keyword);
    }

    /**
     * Whether {@code keyword} (lower-case ASCII; compared ASCII case-insensitively, as SQL keywords are) stands at
     * {@code i}, a {@link #keywordStart}, as a whole word: not followed by an ASCII letter, digit or underscore.
     */
    static boolean startsWithKeyword(String sql, int i, String keyword) {
        int n = keyword.length();
        if (i + n > sql.length()) {
            return false;
        }
        for (int k = 0; k < n; k++) {
            char c = sql.charAt(i + k);
            if ((c >= 'A' && c <= 'Z' ? (char) (c + 32) : c) != keyword.charAt(k)) {
                return false;
            }
        }
        if (i + n == sql.length()) {
            return true;
        }
        char next = sql.charAt(i + n);
        return !(next >= 'a' && next <= 'z' || next >= 'A' && next <= 'Z' || next >= '0' && next <= '9' || next == '_');
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
}
