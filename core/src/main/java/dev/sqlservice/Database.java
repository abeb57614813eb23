package dev.sqlservice;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;

/**
 * A database: a connection pool, a jOOQ configuration, an executor for asynchronous calls and, optionally, the
 * Flyway migrations to run when it is built.
 *
 * <pre>{@code
 * try (Database db = Database.builder()
 *         .url("jdbc:postgresql://127.0.0.1:5432/app")
 *         .username("app").password("secret")
 *         .build()) {
 *     AsyncSession session = db.session();
 *     Result<UsersRecord> users = session.all(selectFrom(USERS)).toCompletableFuture().join();
 * }
 * }</pre>
 *
 * <p>Thread-safe: build one per database and share it. {@link #close()} closes what it created (the pool and
 * the default executor), never a {@link Builder#dataSource(DataSource) DataSource} or
 * {@link Builder#executor(Executor) Executor} that was handed in.
 */
public final class Database implements AutoCloseable {

    private static final java.util.concurrent.atomic.AtomicInteger INSTANCES = new java.util.concurrent.atomic.AtomicInteger();

    private final SQLDialect dialect;
    private final DataSource dataSource;
    private final HikariDataSource ownedPool;
    /** The data source behind the owned pool, and the one liveness probes use; null for a data source handed in. */
    private final UrlDataSource connectionSource;
    private final Liveness liveness;
    private final Executor executor;
    private final Dispatcher ownedExecutor;
    private final java.util.concurrent.ScheduledExecutorService timer;
    private final Backend backend;
    private final Connections connections;
    private final AsyncSession asyncSession;
    private final Session blockingSession;
    /** jOOQ over {@link #connections}: statements run on the connection bound to the thread, or borrow one. */
    private final DSLContext dsl;
    /** The listener of every statement a call runs (deadlines, cancel, liveness), also used by direct runs. */
    private final Calls calls;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicLong abandonedStreams = new java.util.concurrent.atomic.AtomicLong();

    private Database(Builder b, SQLDialect dialect, Backend backend, DataSource dataSource, HikariDataSource ownedPool,
            UrlDataSource connectionSource, String description) {
        this.dialect = dialect;
        this.dataSource = dataSource;
        this.ownedPool = ownedPool;
        this.connectionSource = connectionSource;
        Settings settings = backend.settings(b.settings == null ? new Settings() : (Settings) b.settings.clone());
        this.backend = backend;
        this.liveness = ownedPool == null ? null : new Liveness(
                new UrlDataSource(b.url, b.username, b.password).withDefaults(backend.probeSettings(b.deadConnectionTimeout.dividedBy(4))),
                backend, b.deadConnectionTimeout);
        java.util.concurrent.ScheduledThreadPoolExecutor timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon().name("sqlservice-timeouts-" + INSTANCES.incrementAndGet()).factory());
        // A statement that ends before its deadline takes its timer task out of the queue at once: memory does not
        // grow with throughput.
        timer.setRemoveOnCancelPolicy(true);
        this.timer = timer;
        this.ownedExecutor = b.executor == null
                ? new Dispatcher(b.poolSize, b.acquisitionTimeout, timer, Thread.ofVirtual().name("sqlservice-", 0).factory())
                : null;
        this.executor = b.executor == null ? ownedExecutor : b.executor;
        this.connections = new Connections(dataSource, ownedPool, backend, liveness == null ? null : b.deadConnectionTimeout,
                b.poolSize, b.acquisitionTimeout, description);
        DefaultConfiguration base = new DefaultConfiguration();
        this.calls = new Calls(timer, backend, liveness, connections);
        base.set(dialect).set(settings).set(new Calls.Provider(calls)).set(connections.provider);
        org.jooq.VisitListener binds = backend.visitListener();
        if (binds != null) {
            base.set(binds);
        }
        // Built once: deriving a configuration per call (settings, connection) was a measurable share of a point
        // query. Row limits are set on each statement by Calls, never in these settings: records a call returns
        // keep this configuration, and later reads through them must not inherit a call's limit.
        this.dsl = DSL.using(base);
        this.blockingSession = new Session(this, b.statementTimeout);
        this.asyncSession = new AsyncSession(this, blockingSession);
    }

    /**
     * A builder with the defaults listed in the README's configuration table.
     *
     * @return a new builder; not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The asynchronous session: every call borrows a pooled connection, runs on this database's executor and
     * completes a {@link java.util.concurrent.CompletionStage}.
     *
     * @return the same thread-safe instance on every call
     */
    public AsyncSession session() {
        return asyncSession;
    }

    /**
     * The blocking session, for code that already runs on its own (preferably virtual) thread: the same verbs as
     * {@link AsyncSession}, run on the calling thread, each call borrowing a pooled connection.
     *
     * @return the same thread-safe instance on every call
     */
    public Session blockingSession() {
        return blockingSession;
    }

    /**
     * jOOQ's own API as an escape hatch: a {@link DSLContext} over the pool. Each statement (or open cursor)
     * borrows a connection like a call does: it counts in {@link #activeConnections()}, waits at most
     * {@code acquisitionTimeout} (then fails with SQLState 08001) and gives the connection back when it ends. On
     * the thread running {@link Session#transaction} work it takes part in that transaction instead.
     *
     * @return the same thread-safe instance on every call
     */
    public DSLContext dsl() {
        return dsl;
    }

    /**
     * Renders a jOOQ query once, for running it many times with new values through the verbs {@code all},
     * {@code first}, {@code one} and {@code oneOrNone} of either session, without rendering it again: the values
     * to change are named parameters, {@code DSL.param("id", Long.class)}, each given a value per run with
     * {@link PreparedQuery#bind}. See {@link PreparedQuery}.
     *
     * @param query a jOOQ query, attached or not; it is only read here (later changes to it do not matter)
     * @param <R> the record type: a generated {@code TableRecord} for {@code selectFrom(TABLE)}
     * @return an immutable, thread-safe prepared query for this database
     * @throws NullPointerException when {@code query} is null
     * @throws IllegalArgumentException when a named parameter is rendered inline (not bound), or one name is
     *     used with two types
     */
    public <R extends org.jooq.Record> PreparedQuery<R> prepare(org.jooq.ResultQuery<R> query) {
        return Preparing.typed(this, query);
    }

    /**
     * Parses SQL with {@code :named} parameters once (rules as for {@link Session#all(String, java.util.Map)}), for
     * running it many times with new values; see {@link PreparedQuery}.
     *
     * @param sql SQL text
     * @return an immutable, thread-safe prepared query for this database, whose rows are readable by column name
     * @throws NullPointerException when {@code sql} is null
     * @throws IllegalArgumentException when the SQL has an unterminated quote or comment
     */
    public PreparedQuery<org.jooq.Record> prepare(String sql) {
        return Preparing.sql(this, sql);
    }

    /**
     * The SQL dialect, inferred from the JDBC URL or set with {@link Builder#dialect(SQLDialect)}.
     *
     * @return the dialect in use
     */
    public SQLDialect dialect() {
        return dialect;
    }

    /**
     * How many connections are borrowed right now (in use by a call or a transaction).
     *
     * @return a number between 0 and the pool size
     */
    public int activeConnections() {
        return connections.activeConnections();
    }

    /**
     * Closes the pool and the executor if this database created them. With the default executor, calls still
     * queued fail with {@link IllegalStateException}, and calls already running get up to
     * {@code acquisitionTimeout} to finish before the pool closes (a call still running then fails when its
     * connection is closed). Calls made after closing fail with {@link IllegalStateException}. Runs on the
     * calling thread; idempotent.
     */
    @Override
    public void close() {
        closed = true;
        if (ownedExecutor != null) {
            ownedExecutor.close();
        }
        // Calls still running after the executor's grace (stuck on a dead network, say) are not waited for, and
        // no connection opens from now on (one being opened is closed when it arrives).
        connections.abortAll();
        if (connectionSource != null) {
            connectionSource.close();
            liveness.close();
        }
        if (ownedPool != null) {
            ownedPool.close();
        }
        timer.shutdownNow();
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this Database is closed");
        }
    }

    /** Tasks waiting on this database's timer (statement deadlines, the queue's sweep): for tests. */
    int pendingTimerTasks() {
        return timer instanceof java.util.concurrent.ScheduledThreadPoolExecutor t ? t.getQueue().size() : -1;
    }

    Connections connections() {
        return connections;
    }

    Backend backend() {
        return backend;
    }

    /** Streams found unreachable while still open (each released and logged): for tests. */
    long abandonedStreams() {
        return abandonedStreams.get();
    }

    void streamAbandoned() {
        abandonedStreams.incrementAndGet();
    }

    Executor executor() {
        return executor;
    }

    Calls calls() {
        return calls;
    }

    /** jOOQ's log of executions (bind values, SQL, rows): while it is on at DEBUG, rows go through jOOQ to be logged. */
    private static final org.jooq.tools.JooqLogger EXECUTION_LOG = org.jooq.tools.JooqLogger.getLogger(
            org.jooq.tools.LoggerListener.class);

    /**
     * Whether calls may bypass parts of jOOQ's execution: a prepared query's direct run, and reading the rows of
     * an unprepared query without jOOQ's cursor. See {@link #readsDirectly(org.jooq.Configuration)}.
     */
    boolean readsDirectly() {
        return readsDirectly(dsl.configuration());
    }

    /**
     * Whether a statement on this configuration may skip parts of jOOQ's execution (a prepared run's execution,
     * jOOQ's cursor over rows), asked per call of the configuration as it is now, since the application may change
     * it after {@link Builder#build} through {@code db.dsl().configuration()}: only under settings whose effect the
     * direct paths reproduce ({@link #runsPreparedDirectly}), while jOOQ's execution log is not at DEBUG (jOOQ logs
     * unless {@code executeLogging} is false; null counts as on, as for jOOQ), and while
     * no listener of the application's would miss events: no {@code RecordListener} (jOOQ calls it around loading
     * each record, with the record's values) and no {@code ExecuteListener} but the library's own (a listener sees
     * fetch and record events, and may translate exceptions). Cheap: a few getters and two array reads.
     */
    static boolean readsDirectly(org.jooq.Configuration configuration) {
        Settings settings = configuration.settings();
        if (!runsPreparedDirectly(settings) || configuration.recordListenerProviders().length > 0
                || !Boolean.FALSE.equals(settings.isExecuteLogging()) && EXECUTION_LOG.isDebugEnabled()) {
            return false;
        }
        for (org.jooq.ExecuteListenerProvider provider : configuration.executeListenerProviders()) {
            if (!(provider instanceof Calls.Provider)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether jOOQ, under these settings, executes a plain prepared query exactly as {@link PreparedQuery.Run}'s
     * direct run does: JDBC defaults for timeout, row limits and fetch size (the call sets its own), prepared
     * statements, every exception thrown, no diagnostics connection, and neither updatable primary keys nor
     * optimistic locking (whose {@code store()} depends on jOOQ's {@code fetched} mark of a record: a direct run sets
     * it as jOOQ does, and its tests compare it, but these settings stay on jOOQ's execution, as they always were).
     */
    static boolean runsPreparedDirectly(Settings settings) {
        return (settings.getStatementType() == null || settings.getStatementType() == org.jooq.conf.StatementType.PREPARED_STATEMENT)
                && (settings.getQueryTimeout() == null || settings.getQueryTimeout() == 0)
                && (settings.getMaxRows() == null || settings.getMaxRows() == 0)
                && (settings.getLargeMaxRows() == null || settings.getLargeMaxRows() == 0)
                && (settings.getThrowExceptions() == null || settings.getThrowExceptions() == org.jooq.conf.ThrowExceptions.THROW_ALL)
                && (settings.getDiagnosticsConnection() == null
                        || settings.getDiagnosticsConnection() == org.jooq.conf.DiagnosticsConnection.DEFAULT
                        || settings.getDiagnosticsConnection() == org.jooq.conf.DiagnosticsConnection.OFF)
                && (settings.getFetchSize() == null || settings.getFetchSize() == 0)
                && (settings.getQueryPoolable() == null || settings.getQueryPoolable() == org.jooq.conf.QueryPoolable.DEFAULT)
                && !Boolean.TRUE.equals(settings.isUpdatablePrimaryKeys())
                && !Boolean.TRUE.equals(settings.isExecuteWithOptimisticLocking())
                && !Boolean.TRUE.equals(settings.isExecuteWithOptimisticLockingExcludeUnversioned())
                && !Boolean.FALSE.equals(settings.isAttachRecords());
    }

    /** jOOQ for calls: its statements run on the connection {@link Connections#bound bound} to the calling thread. */
    DSLContext callDsl() {
        return dsl;
    }

    /**
     * Builds a {@link Database}. Every setting is checked at {@link #build()}, with a message naming it.
     *
     * <p>Not thread-safe; a builder may be reused to build several databases.
     */
    public static final class Builder {
        private String url;
        private String username;
        private String password;
        private DataSource dataSource;
        private SQLDialect dialect;
        private int poolSize = 10;
        private Duration acquisitionTimeout = Duration.ofSeconds(30);
        private Duration statementTimeout;
        private Duration deadConnectionTimeout = Duration.ofSeconds(60);
        private Executor executor;
        private Settings settings;
        private List<String> migrations = List.of();

        private Builder() {}

        /**
         * The JDBC URL of the database; the pool (HikariCP) is created and owned by the {@link Database}.
         * {@code jdbc:postgresql:}, {@code jdbc:mariadb:} and {@code jdbc:mysql:} URLs set the dialect.
         *
         * @param url a JDBC URL; exclusive with {@link #dataSource(DataSource)}
         * @return this builder
         */
        public Builder url(String url) {
            this.url = url;
            return this;
        }

        /**
         * The user name for {@link #url(String)}.
         *
         * @param username user name, or null for the driver's default
         * @return this builder
         */
        public Builder username(String username) {
            this.username = username;
            return this;
        }

        /**
         * The password for {@link #url(String)}. It is handed to the pool only; it never appears in a message.
         *
         * @param password password, or null
         * @return this builder
         */
        public Builder password(String password) {
            this.password = password;
            return this;
        }

        /**
         * A data source to use instead of a URL. It is not closed by {@link Database#close()}. Set
         * {@link #dialect(SQLDialect)} too, or the dialect is read from a first connection at {@code build()}.
         *
         * @param dataSource a (pooled) data source; exclusive with {@link #url(String)}
         * @return this builder
         */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = dataSource;
            return this;
        }

        /**
         * The jOOQ dialect, when the URL or data source does not tell it.
         *
         * @param dialect a jOOQ dialect
         * @return this builder
         */
        public Builder dialect(SQLDialect dialect) {
            this.dialect = dialect;
            return this;
        }

        /**
         * The most connections in use at once (default 10): the pool's size, and the bound on concurrent calls
         * when a {@link #dataSource(DataSource)} is given.
         *
         * @param poolSize at least 1
         * @return this builder
         */
        public Builder poolSize(int poolSize) {
            this.poolSize = poolSize;
            return this;
        }

        /**
         * The longest a call waits for a connection, its time in the queue and in the pool together, before it
         * fails with a {@code DataAccessException} (SQLState 08001, message naming {@code acquisitionTimeout});
         * default 30 seconds. {@code build()} waits as long for its first connection, and connecting and logging in
         * are bounded by it (10 seconds at most).
         *
         * @param acquisitionTimeout positive duration
         * @return this builder
         */
        public Builder acquisitionTimeout(Duration acquisitionTimeout) {
            this.acquisitionTimeout = acquisitionTimeout;
            return this;
        }

        /**
         * A statement timeout for every statement (default none); outcomes as in
         * {@link Session#withStatementTimeout(Duration)}: the call ends within the timeout plus one second, with
         * the server's cancel error when it confirmed, SQLState 08007 when the outcome is unknown. Per call:
         * {@link AsyncSession#withStatementTimeout(Duration)}.
         *
         * @param statementTimeout positive duration, or null for none
         * @return this builder
         */
        public Builder statementTimeout(Duration statementTimeout) {
            this.statementTimeout = statementTimeout;
            return this;
        }

        /**
         * How long a statement may run on a connection that shows no sign of life before it is given up (default
         * 60 seconds): a call on a silently dead connection (a network partition, a crashed host) then fails with
         * a {@code DataAccessException} (SQLState 08007 outside a transaction: it may have been applied; 08006
         * inside one: rolled back) instead of waiting forever. Queries that run longer on a healthy network are
         * not affected: after half this time a new connection asks the server whether the statement's session is
         * still there, and a live one restarts the clock. Also bounds commit and rollback on the network. Applies
         * to the pool created from {@link #url(String)}; a {@link #dataSource(DataSource)} handed in keeps its own
         * driver settings.
         *
         * @param deadConnectionTimeout positive duration, at least 200 ms
         * @return this builder
         */
        public Builder deadConnectionTimeout(Duration deadConnectionTimeout) {
            this.deadConnectionTimeout = deadConnectionTimeout;
            return this;
        }

        /**
         * The executor that runs {@link AsyncSession} calls. Default: virtual threads, at most {@code poolSize} at
         * a time, taking calls from one FIFO queue in which a call waits at most {@code acquisitionTimeout}; closed
         * (after the queued calls ran) with the database. An executor set here gets one task per call and is not
         * shut down by {@link Database#close()}.
         *
         * @param executor an executor that runs each task on some thread that may block
         * @return this builder
         */
        public Builder executor(Executor executor) {
            this.executor = executor;
            return this;
        }

        /**
         * jOOQ settings for every query (copied at {@code build()}).
         *
         * @param settings jOOQ settings
         * @return this builder
         */
        public Builder settings(Settings settings) {
            this.settings = settings;
            return this;
        }

        /**
         * Flyway locations to migrate at {@code build()} (off by default), e.g.
         * {@code "filesystem:db/migration"} or {@code "classpath:db/migration"}. A {@code {vendor}} in a location
         * becomes {@code postgresql}, {@code mariadb} or {@code mysql}.
         *
         * @param locations one or more Flyway locations
         * @return this builder
         */
        public Builder migrate(String... locations) {
            this.migrations = List.of(Objects.requireNonNull(locations, "locations == null"));
            return this;
        }

        /**
         * Checks every setting, creates the pool (unless a data source was given), connects once and runs the
         * migrations, if any.
         *
         * @return a new database, to be closed by the caller
         * @throws IllegalArgumentException when a setting is missing, contradictory or out of range; the message
         *     names it
         * @throws DataAccessException when the database cannot be reached (the message names host and database,
         *     never the password)
         * @throws org.flywaydb.core.api.FlywayException when a migration fails
         */
        public Database build() {
            if ((url == null) == (dataSource == null)) {
                throw new IllegalArgumentException("set exactly one of url or dataSource");
            }
            if (dataSource != null && (username != null || password != null)) {
                throw new IllegalArgumentException("username and password belong to url; configure them on the dataSource");
            }
            if (url != null && !url.startsWith("jdbc:")) {
                throw new IllegalArgumentException("url must be a JDBC URL starting with jdbc:, got " + JdbcUrls.redact(url));
            }
            if (poolSize < 1) {
                throw new IllegalArgumentException("poolSize must be at least 1, got " + poolSize);
            }
            requirePositive("acquisitionTimeout", acquisitionTimeout);
            if (statementTimeout != null) {
                requirePositive("statementTimeout", statementTimeout);
            }
            requirePositive("deadConnectionTimeout", deadConnectionTimeout);
            if (deadConnectionTimeout.toMillis() < 200) {
                throw new IllegalArgumentException("deadConnectionTimeout must be at least 200 ms, got " + deadConnectionTimeout);
            }
            for (String location : migrations) {
                if (location == null || location.isBlank()) {
                    throw new IllegalArgumentException("migrate locations must not be null or blank");
                }
            }
            // The one place the backend is chosen: from the dialect set, else from the URL, else (below) from the
            // URL of a first connection of the data source.
            Backend backend = dialect != null ? Backend.of(dialect) : Backend.forUrl(url);
            if (url != null && backend == null) {
                throw new IllegalArgumentException("cannot infer the dialect from url " + JdbcUrls.redact(url)
                        + " (supported: " + Backend.supportedUrlPrefixes() + "); set dialect(SQLDialect)");
            }

            HikariDataSource pool = null;
            UrlDataSource connectionSource = null;
            DataSource source = dataSource;
            String description;
            if (url != null) {
                description = JdbcUrls.describe(url);
                HikariConfig config = new HikariConfig();
                // Not the URL: the pool would log it (DEBUG) and quote it. The data source keeps its secrets apart.
                // Connecting and logging in end within the acquisition timeout (10 s at most), so a server that
                // accepts connections but never answers cannot hold the pool's connection creation forever.
                Duration connect = acquisitionTimeout.compareTo(Duration.ofSeconds(10)) < 0 ? acquisitionTimeout : Duration.ofSeconds(10);
                connectionSource = new UrlDataSource(url, username, password).withDefaults(backend.driverDefaults(connect));
                config.setDataSource(connectionSource);
                config.setMaximumPoolSize(poolSize);
                config.setConnectionTimeout(Math.max(250, acquisitionTimeout.toMillis()));
                // Checking a connection before handing it out must fit in the acquisition timeout (HikariCP's
                // default, 5 s, does not when acquisitionTimeout is 5 s or less).
                config.setValidationTimeout(Math.clamp(acquisitionTimeout.toMillis() / 4, 250, 5_000));
                config.setPoolName("sqlservice " + description);
                config.setConnectionInitSql(backend.sessionInitSql());
                // The first connection is waited for below, within acquisitionTimeout, not by the pool's own
                // start (which waits as long as the driver's whole-second login timeout, and more).
                config.setInitializationFailTimeout(-1);
                try {
                    firstConnection(connectionSource, acquisitionTimeout);
                    pool = new HikariDataSource(config);
                } catch (RuntimeException | SQLException e) {
                    connectionSource.close();
                    if (pool != null) {
                        pool.close();
                    }
                    throw connectFailure(description, e, JdbcUrls.secrets(url, password));
                }
                source = pool;
            } else {
                description = "the configured dataSource";
                if (backend == null) {
                    try (var c = dataSource.getConnection()) {
                        backend = Backend.forUrl(c.getMetaData().getURL());
                    } catch (java.sql.SQLException e) {
                        throw new DataAccessException("Cannot connect to the configured dataSource: " + e.getMessage(), e);
                    }
                    if (backend == null) {
                        throw new IllegalArgumentException("cannot infer the dialect of the dataSource (supported: "
                                + Backend.supportedUrlPrefixes() + " URLs); set dialect(SQLDialect)");
                    }
                }
            }
            try {
                SQLDialect resolved = dialect != null ? dialect : backend.dialect();
                if (!migrations.isEmpty()) {
                    String vendor = backend.vendor();
                    Flyway.configure()
                            .dataSource(source)
                            .locations(migrations.stream().map(l -> l.replace("{vendor}", vendor)).toArray(String[]::new))
                            .failOnMissingLocations(true)
                            .load()
                            .migrate();
                }
                Database database = new Database(this, resolved, backend, source, pool, connectionSource, description);
                if (pool == null && database.backend.checksSessions()) {
                    checkSessions(database);
                }
                return database;
            } catch (RuntimeException | Error e) {
                if (connectionSource != null) {
                    connectionSource.close();
                }
                if (pool != null) {
                    pool.close();
                }
                throw e;
            }
        }

        /**
         * Connects once, waiting at most {@code limit}: a wrong password or an unknown database fails at once with
         * the driver's reason; a server that does not answer fails when the limit is up (and a connection that
         * opens later is closed, since the caller then closes the source).
         */
        private static void firstConnection(UrlDataSource source, Duration limit) throws SQLException {
            java.util.concurrent.CompletableFuture<java.sql.Connection> connecting = new java.util.concurrent.CompletableFuture<>();
            Thread.ofVirtual().name("sqlservice-connect").start(() -> {
                try {
                    connecting.complete(source.getConnection());
                } catch (Throwable t) {
                    connecting.completeExceptionally(t);
                }
            });
            try {
                connecting.get(limit.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS).close();
            } catch (java.util.concurrent.TimeoutException e) {
                connecting.thenAccept(Builder::closeQuietly);
                throw new SQLException("no answer within acquisitionTimeout (" + limit.toMillis() + " ms)", "08001");
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof SQLException sql) {
                    throw sql;
                }
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new SQLException(String.valueOf(e.getCause()), "08001", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                connecting.thenAccept(Builder::closeQuietly);
                throw new SQLException("interrupted while connecting", "08001", e);
            }
        }

        private static void closeQuietly(java.sql.Connection connection) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Not used.
            }
        }

        /** A data source handed in must give sessions the library can use: checked on one connection now. */
        private static void checkSessions(Database database) {
            try {
                database.connections().acquire().close();
            } catch (Connections.UnfitSessionException e) {
                database.close();
                throw new IllegalArgumentException(e.getMessage(), e);
            } catch (RuntimeException | Error e) {
                database.close();
                throw e;
            }
        }

        private static void requirePositive(String name, Duration value) {
            if (value == null || value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + " must be a positive duration, got " + value);
            }
        }

        /**
         * The driver's reason, with every secret we know of (password, URL credentials) masked. The drivers' own
         * exceptions may quote the URL, so they are not kept as causes: a masked copy of the root is.
         */
        private static DataAccessException connectFailure(String description, Throwable e, List<String> secrets) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            String reason = JdbcUrls.mask(String.valueOf(root.getMessage()), secrets);
            java.sql.SQLException cause = root instanceof java.sql.SQLException sql
                    ? new java.sql.SQLException(reason, sql.getSQLState(), sql.getErrorCode())
                    : new java.sql.SQLException(root.getClass().getSimpleName() + ": " + reason, "08001");
            cause.setStackTrace(root.getStackTrace());
            return new DataAccessException("Cannot connect to " + description + ": " + reason, cause);
        }
    }
}
