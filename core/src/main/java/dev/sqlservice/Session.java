package dev.sqlservice;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jooq.DSLContext;
import org.jooq.Query;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.UpdatableRecord;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.NoDataFoundException;
import org.jooq.exception.TooManyRowsException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConnectionProvider;

/**
 * The blocking session: the verbs of {@link AsyncSession}, run on the calling thread.
 *
 * <p>There are two kinds. {@link Database#blockingSession()} is thread-safe and borrows a pooled connection for
 * each call (or, on a thread that is inside {@link #transaction}, uses that transaction). The session handed to
 * {@code transaction(work)} is bound to that transaction's one connection: it may be used only by the thread
 * running {@code work}, and only until {@code work} returns ({@link IllegalStateException} otherwise).
 *
 * <p>Queries run on the session's jOOQ configuration whether or not they were built attached; a query object
 * is attached for the duration of the call and then restored, like jOOQ's {@code DSLContext.fetch(query)}, so
 * the same query object must not run in two calls at once. Database errors are jOOQ's
 * {@link DataAccessException}, with the driver's SQLState ({@link DataAccessException#sqlState()}).
 */
public final class Session {

    private static final int ALL_ROWS = 0;
    private static final int FIRST_ROW = 1;
    private static final int AT_MOST_ONE = 2;

    private final Database database;
    private final Connection connection;
    private final Transaction transaction;
    private final Duration statementTimeout;

    /** The state a transaction's session and its views share: which thread owns it, and whether it ended. */
    private static final class Transaction {
        final Thread owner = Thread.currentThread();
        /** The transaction's connection, recorded as the call's for each of its statements ({@link Calls#using}). */
        final Connections.Lease lease;

        Transaction(Connections.Lease lease) {
            this.lease = lease;
        }

        volatile boolean ended;
        /** Streams opened in the transaction and not closed yet: closed before it commits or rolls back. */
        final Set<Streams.Cursor<?>> streams = ConcurrentHashMap.newKeySet();

        void closeStreams() {
            for (Streams.Cursor<?> cursor : List.copyOf(streams)) {
                cursor.close();
            }
        }

        /**
         * Per {@code saveAll} nested in the transaction (a savepoint of its own, released), what puts its records'
         * state back when the transaction, or a savepoint around that call, rolls back
         * ({@link Upserts.Attempt#undoOnRollback}). Touched on the transaction's thread only.
         */
        private final List<Runnable> recordsToRestore = new java.util.ArrayList<>();

        /** How many restores are registered: a savepoint's mark. */
        int restoreMark() {
            return recordsToRestore.size();
        }

        /** Runs the restores registered after {@code mark}, the latest first, and forgets them. */
        void restoreRecords(int mark, Throwable failure) {
            for (int i = recordsToRestore.size() - 1; i >= mark; i--) {
                try {
                    recordsToRestore.remove(i).run();
                } catch (RuntimeException | Error e) {
                    failure.addSuppressed(e);
                }
            }
        }
    }

    Session(Database database, Duration statementTimeout) {
        this(database, null, null, statementTimeout);
    }

    private Session(Database database, Connection connection, Transaction transaction, Duration statementTimeout) {
        this.database = database;
        this.connection = connection;
        this.transaction = transaction;
        this.statementTimeout = statementTimeout;
    }

    /**
     * This session with another statement timeout, which also applies to calls it makes inside transaction work.
     * When it expires, the statement is cancelled on the server (on another thread; the
     * call ends within the timeout plus one second whatever the network does) and the call fails with a
     * {@link DataAccessException} whose cause is a {@link java.sql.SQLTimeoutException}: SQLState 57014
     * (PostgreSQL) / 70100 (MariaDB) when the server confirmed the cancel; SQLState 08007 ("may have been applied")
     * when it did not within a second (the connection is then aborted) or the statement was a procedure. Inside a
     * transaction whose connection had to be aborted, the cause is a
     * {@link java.sql.SQLNonTransientConnectionException} with SQLState 08006 and the transaction rolls back. A
     * statement that finished before the cancel landed returns its result.
     *
     * @param timeout a positive duration (millisecond precision), or null for none
     * @return a session sharing this one's connection or pool and transaction
     * @throws IllegalArgumentException when {@code timeout} is zero or negative
     */
    public Session withStatementTimeout(Duration timeout) {
        return new Session(database, connection, transaction, checkTimeout(timeout));
    }

    static Duration checkTimeout(Duration timeout) {
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("statement timeout must be positive, got " + timeout);
        }
        return timeout;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Typed queries
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Every row of a query (jOOQ's {@code fetch}).
     *
     * @param query a jOOQ query, attached or not
     * @param <R> the record type: a generated {@code TableRecord} for {@code selectFrom(TABLE)}
     * @return every row; empty when there is none
     * @throws NullPointerException when {@code query} is null
     * @throws DataAccessException when the database fails
     */
    @SuppressWarnings("unchecked")
    public <R extends Record> Result<R> all(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return run(ALL_ROWS, dsl -> fetchAll(dsl, query));
    }

    /**
     * jOOQ's {@code fetch} of {@code query}, its rows read without jOOQ's cursor when {@link #directRows} allows it.
     * Asked here, inside the call, once its connection is held: a listener the application adds while the call
     * waits for a connection is on the configuration when the statement runs, and is honoured.
     */
    @SuppressWarnings("unchecked")
    private <R extends Record> Result<R> fetchAll(DSLContext dsl, ResultQuery<R> query) {
        DirectRows<R> reader = directRows(query);
        return reader != null ? (Result<R>) readDirectly(dsl, query, reader, PreparedQuery.Rows.ALL) : dsl.fetch(query);
    }

    /**
     * The first row of a query, reading at most one row from the server (jOOQ's {@code fetchAny}, with JDBC
     * {@code maxRows = 1}). Add an {@code orderBy} to say which row is first.
     *
     * @param query a jOOQ query
     * @param <R> the record type
     * @return the first row, or empty when there is none
     * @throws NullPointerException when {@code query} is null
     * @throws DataAccessException when the database fails
     */
    public <R extends Record> Optional<R> first(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return run(FIRST_ROW, dsl -> dsl.fetchOptional(query));
    }

    /**
     * Exactly one row (jOOQ's {@code fetchSingle}); reads at most two rows from the server.
     *
     * @param query a jOOQ query
     * @param <R> the record type
     * @return the only row
     * @throws NullPointerException when {@code query} is null
     * @throws NoDataFoundException when there is no row
     * @throws TooManyRowsException when there is more than one row
     * @throws DataAccessException when the database fails
     */
    public <R extends Record> R one(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return run(AT_MOST_ONE, dsl -> dsl.fetchSingle(query));
    }

    /**
     * Zero or one row (jOOQ's {@code fetchOptional}); reads at most two rows from the server.
     *
     * @param query a jOOQ query
     * @param <R> the record type
     * @return the only row, or empty when there is none
     * @throws NullPointerException when {@code query} is null
     * @throws TooManyRowsException when there is more than one row
     * @throws DataAccessException when the database fails
     */
    public <R extends Record> Optional<R> oneOrNone(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return run(AT_MOST_ONE, dsl -> dsl.fetchOptional(query));
    }

    /**
     * Executes a statement (insert, update, delete, DDL).
     *
     * @param query a jOOQ query
     * @return the number of affected rows, as the driver reports it
     * @throws NullPointerException when {@code query} is null
     * @throws DataAccessException when the database fails
     */
    public int execute(Query query) {
        Objects.requireNonNull(query, "query == null");
        return run(ALL_ROWS, dsl -> dsl.execute(query));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Prepared queries
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Every row of a prepared query, run with its bound values; otherwise as {@link #all(ResultQuery)}.
     *
     * @param query a query prepared by this session's {@link Database}, every parameter bound
     * @param <R> the record type
     * @return every row; empty when there is none
     * @throws NullPointerException when {@code query} is null
     * @throws IllegalArgumentException when a parameter has no value, or the query was prepared by another
     *     database
     * @throws DataAccessException when the database fails
     */
    public <R extends Record> Result<R> all(PreparedQuery<R> query) {
        return all(prepared(query));
    }

    /**
     * The first row of a prepared query, reading at most one row; otherwise as {@link #first(ResultQuery)}.
     *
     * @param query a prepared query, every parameter bound
     * @param <R> the record type
     * @return the first row, or empty
     * @throws IllegalArgumentException as {@link #all(PreparedQuery)}
     * @throws DataAccessException when the database fails
     */
    public <R extends Record> Optional<R> first(PreparedQuery<R> query) {
        return first(prepared(query));
    }

    /**
     * Exactly one row of a prepared query; otherwise as {@link #one(ResultQuery)}.
     *
     * @param query a prepared query, every parameter bound
     * @param <R> the record type
     * @return the only row
     * @throws IllegalArgumentException as {@link #all(PreparedQuery)}
     * @throws NoDataFoundException when there is no row
     * @throws TooManyRowsException when there is more than one row
     * @throws DataAccessException when the database fails
     */
    public <R extends Record> R one(PreparedQuery<R> query) {
        return one(prepared(query));
    }

    /**
     * Zero or one row of a prepared query; otherwise as {@link #oneOrNone(ResultQuery)}.
     *
     * @param query a prepared query, every parameter bound
     * @param <R> the record type
     * @return the only row, or empty
     * @throws IllegalArgumentException as {@link #all(PreparedQuery)}
     * @throws TooManyRowsException when there is more than one row
     * @throws DataAccessException when the database fails
     */
    public <R extends Record> Optional<R> oneOrNone(PreparedQuery<R> query) {
        return oneOrNone(prepared(query));
    }

    /**
     * The reader of {@code query}'s rows without jOOQ's cursor ({@link DirectRows#ofQuery}: a select of a generated
     * table's records) when the database's configuration allows it as it is now ({@link Database#readsDirectly}: its
     * settings, no listener of the application's); otherwise null, and jOOQ reads the rows.
     */
    private <R extends Record> DirectRows<R> directRows(ResultQuery<R> query) {
        return database.readsDirectly() ? DirectRows.ofQuery(query) : null;
    }

    /**
     * Runs an unprepared query as jOOQ runs it (rendering, binds, settings, the query's own attributes, the call's
     * listener), opened as jOOQ's lazy cursor, and reads its rows with {@code reader} instead of the cursor; closes
     * the cursor. A failure to read is reported as jOOQ's cursor reports it: "SQL [...]; " and the driver's message.
     */
    private static <R extends Record> Object readDirectly(DSLContext dsl, ResultQuery<R> query, DirectRows<R> reader,
            PreparedQuery.Rows rows) {
        try (org.jooq.Cursor<R> cursor = dsl.fetchLazy(query)) {
            if (cursor == null) {
                // jOOQ keeps a query's lazy cursor in the query object itself
                throw new IllegalStateException("jOOQ returned no cursor for this query: the same query object was"
                        + " executing on another thread at the same time. jOOQ's query objects are not thread-safe"
                        + " while they execute: build one per call, or prepare it once (Database.prepare) and bind"
                        + " it per call");
            }
            DirectRows.UNPREPARED_READS.increment();
            Object read = reader.read(dsl, cursor.resultSet(), rows);
            if (read instanceof Result<?> result) {
                DirectRows.rememberResult(query, result);
            }
            return read;
        } catch (SQLException e) {
            throw PreparedQuery.TypedQuery.translate(Calls.sentSql(), e);
        }
    }

    /** One run of {@code query} on this session's database, checked on the calling thread. */
    <R extends Record> PreparedQuery.Run<R> prepared(PreparedQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return query.run(database);
    }

    // A prepared typed query runs directly on JDBC when it can (PreparedQuery.Run#direct), inside the same call
    // (connection, transaction, timeout, cancel, row limit) as jOOQ's execution of it would.

    // Whether it can is asked inside the call, once its connection is held (see fetchAll).

    @SuppressWarnings("unchecked")
    <R extends Record> Result<R> all(PreparedQuery.Run<R> run) {
        return run(ALL_ROWS, dsl -> run.direct() ? (Result<R>) run.fetch(dsl, ALL_ROWS, PreparedQuery.Rows.ALL)
                : fetchAll(dsl, run.query()));
    }

    @SuppressWarnings("unchecked")
    <R extends Record> Optional<R> first(PreparedQuery.Run<R> run) {
        return run(FIRST_ROW, dsl -> run.direct()
                ? Optional.ofNullable((R) run.fetch(dsl, FIRST_ROW, PreparedQuery.Rows.FIRST))
                : dsl.fetchOptional(run.query()));
    }

    @SuppressWarnings("unchecked")
    <R extends Record> R one(PreparedQuery.Run<R> run) {
        return run(AT_MOST_ONE, dsl -> {
            if (!run.direct()) {
                return dsl.fetchSingle(run.query());
            }
            R record = (R) run.fetch(dsl, AT_MOST_ONE, PreparedQuery.Rows.AT_MOST_ONE);
            if (record == null) {
                // as jOOQ's fetchSingle words it
                throw new org.jooq.exception.NoDataFoundException("Cursor returned no rows");
            }
            return record;
        });
    }

    @SuppressWarnings("unchecked")
    <R extends Record> Optional<R> oneOrNone(PreparedQuery.Run<R> run) {
        return run(AT_MOST_ONE, dsl -> run.direct()
                ? Optional.ofNullable((R) run.fetch(dsl, AT_MOST_ONE, PreparedQuery.Rows.AT_MOST_ONE))
                : dsl.fetchOptional(run.query()));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Plain SQL with :named parameters
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Every row of plain SQL with {@code :named} parameters (rules in the README), as records readable by column
     * name.
     *
     * @param sql SQL text
     * @param params a value for every parameter the SQL uses, and nothing else
     * @return every row
     * @throws NullPointerException when {@code sql} or {@code params} is null
     * @throws IllegalArgumentException when a parameter has no value, a value names no parameter, a collection
     *     value is empty, or the SQL has an unterminated quote or comment
     * @throws DataAccessException when the database fails
     */
    public Result<Record> all(String sql, Map<String, ?> params) {
        return all(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #all(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text without {@code :named} parameters
     * @return every row
     * @throws IllegalArgumentException when the SQL uses a parameter
     */
    public Result<Record> all(String sql) {
        return all(sql, Map.of());
    }

    /**
     * The first row of plain SQL, reading at most one row from the server.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return the first row, or empty
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public Optional<Record> first(String sql, Map<String, ?> params) {
        return first(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #first(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return the first row, or empty
     */
    public Optional<Record> first(String sql) {
        return first(sql, Map.of());
    }

    /**
     * Exactly one row of plain SQL.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return the only row
     * @throws NoDataFoundException when there is no row
     * @throws TooManyRowsException when there is more than one
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public Record one(String sql, Map<String, ?> params) {
        return one(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #one(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return the only row
     */
    public Record one(String sql) {
        return one(sql, Map.of());
    }

    /**
     * Zero or one row of plain SQL.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return the only row, or empty
     * @throws TooManyRowsException when there is more than one
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public Optional<Record> oneOrNone(String sql, Map<String, ?> params) {
        return oneOrNone(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #oneOrNone(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return the only row, or empty
     */
    public Optional<Record> oneOrNone(String sql) {
        return oneOrNone(sql, Map.of());
    }

    /**
     * Executes plain SQL with {@code :named} parameters.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return the number of affected rows
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public int execute(String sql, Map<String, ?> params) {
        return execute(PlainSql.query(sql, params, database.backend()));
    }

    /**
     * {@link #execute(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return the number of affected rows
     */
    public int execute(String sql) {
        return execute(sql, Map.of());
    }

    // ---------------------------------------------------------------------------------------------------------
    // Streams
    // ---------------------------------------------------------------------------------------------------------

    /**
     * The rows of a query as a stream read from a server-side cursor, {@value Streams#FETCH_SIZE} rows at a time, in
     * the query's order: memory stays bounded whatever the number of rows. Close it (try-with-resources): it holds a
     * connection from this call until it is closed, or until its last row has been read or it failed.
     *
     * <pre>{@code
     * try (Stream<UsersRecord> users = session.stream(selectFrom(USERS).orderBy(USERS.ID))) {
     *     users.forEach(exporter::write);
     * }
     * }</pre>
     *
     * <p>The query runs at once, on the calling thread; the rows are read on the thread that consumes the stream,
     * and each fetch is a statement for the session's statement timeout (counted per fetch) and for
     * cancellation. Outside a transaction the stream borrows a pooled connection (counted in
     * {@link Database#activeConnections()}) and, on PostgreSQL, runs in a read-only transaction of its own, ended
     * when the stream is released. Inside {@link #transaction} it reads on the transaction's connection, on its
     * thread, and is closed at the latest when the transaction ends. A stream that becomes unreachable while
     * open is released when the garbage collector finds it, and logged as a warning with the place it was
     * opened.
     *
     * @param query a jOOQ query, attached or not
     * @param <R> the record type
     * @return a sequential stream; empty when there is no row
     * @throws NullPointerException when {@code query} is null
     * @throws DataAccessException when the database fails, here or while the stream is read (rows read before
     *     the failure stay delivered; the connection is released)
     * @throws IllegalStateException when the stream is read after it was closed or after it failed
     */
    public <R extends Record> Stream<R> stream(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return Streams.blocking(open(Calls.current(), query, Streams.FETCH_SIZE));
    }

    /**
     * {@link #stream(ResultQuery)} for plain SQL with {@code :named} parameters.
     *
     * @param sql SQL text
     * @param params a value for every parameter the SQL uses, and nothing else
     * @return a stream of records readable by column name; close it
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     * @throws DataAccessException as {@link #stream(ResultQuery)}
     */
    public Stream<Record> stream(String sql, Map<String, ?> params) {
        return stream(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #stream(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return a stream of records; close it
     * @throws IllegalArgumentException when the SQL uses a parameter
     */
    public Stream<Record> stream(String sql) {
        return stream(sql, Map.of());
    }

    /**
     * Executes {@code query} for a stream: on this session's transaction, the current thread's, or a borrowed
     * connection.
     *
     * @param call the call a cancel of the stream goes to; null for a new one
     */
    <R extends Record> Streams.Cursor<R> open(Calls.Call call, ResultQuery<R> query, int fetchSize) {
        if (connection != null) {
            checkUsable();
            Calls.Call current = call != null ? call : Calls.current();
            return Streams.Cursor.inTransaction(database, transaction.lease, current != null ? current : new Calls.Call(),
                    statementTimeout, query, fetchSize, this::checkUsable, transaction.streams);
        }
        Session current = database.connections().transactionOnThisThread();
        if (current != null) {
            return current.withTimeoutOf(this).open(call, query, fetchSize);
        }
        database.checkOpen();
        return Streams.Cursor.leased(database, call != null ? call : new Calls.Call(), statementTimeout, query, fetchSize);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Upserts
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Upserts one record by primary key; see {@link #saveAll(Collection)}.
     *
     * @param record a generated record
     * @param <R> the record type
     * @return {@code record} itself, now holding the row as stored
     * @throws NullPointerException when {@code record} is null
     * @throws IllegalArgumentException when its table has no primary key or its key is partly set
     * @throws DataAccessException when the database rejects the row; the record is then as it was
     */
    public <R extends UpdatableRecord<R>> R save(R record) {
        Objects.requireNonNull(record, "record == null");
        saveAll(List.of(record));
        return record;
    }

    /**
     * Upserts records by primary key, in the database: one {@code INSERT … ON CONFLICT (primary key) DO UPDATE}
     * per chunk of records sharing a table and a set of changed fields (chunks bounded by rows and by bytes),
     * writing only the changed fields and never a generated column, parents before children (foreign-key order),
     * rows in primary-key order within and across chunks. Every statement is rendered by jOOQ with the database's
     * {@code Settings} ({@code RenderMapping} included). The records are then refreshed with the rows as stored
     * (identity values, defaults, trigger and generated values), their changed flags reset and jOOQ's "fetched"
     * mark set (so that {@code store()} updates them, as after jOOQ's own {@code store()}).
     *
     * <p>Keys are compared as the database compares them ({@code timestamptz} by instant, {@code numeric} at the
     * column's scale, {@code char(n)} without padding). Two records that a collation maps to the same stored row
     * fail the call with SQLState 21000.
     *
     * <p>All or nothing: the whole call is one transaction (a savepoint inside {@link #transaction}). When the
     * database rejects any row, nothing is written and no record is changed: records are refreshed only after the
     * transaction (or savepoint) has succeeded. Inside {@link #transaction} work, when that transaction (or a
     * savepoint around this call) later rolls back or fails to commit, the records get back the changed flags,
     * originals and "fetched" mark they had before this call (their values stay), so that saving them again
     * writes them.
     *
     * <p>Runs on the calling thread. On PostgreSQL, when chunks go by {@code COPY} (README), the COPY text of the
     * next chunk is written on a virtual thread of its own while the server runs the current chunk, but only when
     * that runs no application code (no written column has a {@code Converter}, every value is of a jOOQ built-in
     * type); that thread only reads the records, and the call returns only once it is done.
     *
     * @param records records of tables with a primary key; empty runs no SQL
     * @param <R> the record type
     * @return the same instances, in input order
     * @throws NullPointerException when {@code records} or an element is null
     * @throws IllegalArgumentException when a table has no primary key, a composite key is partly set, or the
     *     same record, or two keys the database stores as equal, appear twice; checked before any SQL
     * @throws DataAccessException when the database rejects a row (SQLState kept)
     */
    public <R extends UpdatableRecord<?>> List<R> saveAll(Collection<? extends R> records) {
        return saveAll(Upserts.plan(records, database.backend()));
    }

    <R extends UpdatableRecord<?>> List<R> saveAll(Upserts.Plan<R> plan) {
        if (plan.isEmpty()) {
            return plan.records();
        }
        Session enclosingSession = connection != null ? this : database.connections().transactionOnThisThread();
        Transaction enclosing = enclosingSession == null ? null : enclosingSession.transaction;
        Upserts.Attempt<R> attempt = plan.attempt().nested(enclosingSession != null);
        transaction(tx -> tx.run(ALL_ROWS, attempt::execute));
        if (enclosing != null) {
            // Written in a savepoint that is released: the enclosing transaction may still roll back, and then
            // the records must not look saved (a retried transaction that saves them again must write them).
            enclosing.recordsToRestore.add(attempt.undoOnRollback());
        }
        attempt.apply(database.dsl().configuration());
        return plan.records();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Transactions
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Runs {@code work} in a transaction on one connection, on the calling thread: committed when it returns,
     * rolled back when it throws. Inside {@code work}, use the session it is given; a {@code transaction} there
     * nests as a savepoint (rolled back alone when its work throws).
     *
     * @param work the unit of work; its session is valid until it returns
     * @param <T> the result type
     * @return what {@code work} returned, after the commit
     * @throws NullPointerException when {@code work} is null
     * @throws DataAccessException when the database fails, including at commit
     * @throws RuntimeException whatever {@code work} threw, after the rollback
     */
    public <T> T transaction(Function<? super Session, ? extends T> work) {
        Objects.requireNonNull(work, "work == null");
        if (connection != null) {
            checkUsable();
            return inSavepoint(work);
        }
        Session current = database.connections().transactionOnThisThread();
        if (current != null) {
            return current.withTimeoutOf(this).transaction(work);
        }
        database.checkOpen();
        return Calls.run(null, statementTimeout, ALL_ROWS, false, () -> {
            try (Connections.Lease lease = database.connections().acquire()) {
                Calls.using(lease);
                return inTransaction(lease, work);
            }
        });
    }

    /** This transaction's session with the statement timeout of {@code other}, if it has one. */
    private Session withTimeoutOf(Session other) {
        return other.statementTimeout == null ? this : withStatementTimeout(other.statementTimeout);
    }

    /**
     * jOOQ's API on this session's connection: inside {@link #transaction} it takes part in the transaction;
     * otherwise it is {@link Database#dsl()}.
     *
     * @return a DSL context
     */
    public DSLContext dsl() {
        if (connection == null) {
            return database.dsl();
        }
        checkUsable();
        return DSL.using(database.callDsl().configuration().derive(new DefaultConnectionProvider(connection)));
    }

    private <T> T inTransaction(Connections.Lease lease, Function<? super Session, ? extends T> work) {
        Connection c = lease.connection();
        Transaction state = new Transaction(lease);
        Session session = new Session(database, c, state, statementTimeout);
        Connections connections = database.connections();
        try {
            connections.bounded(c, () -> c.setAutoCommit(false));
        } catch (SQLException e) {
            throw translate("begin a transaction", e);
        }
        database.connections().enterTransaction(session);
        try {
            // Bound for the whole work: jOOQ calls on records attached by earlier calls (store(), refresh()) and
            // on Database.dsl() made inside it take part in the transaction.
            T result = database.connections().bound(c, () -> work.apply(session));
            state.closeStreams();
            // A call cancelled while its work ran must not commit; from here on a cancel comes too late.
            Calls.beginCommit();
            commit(connections, c);
            return result;
        } catch (Throwable t) {
            state.closeStreams();
            try {
                connections.bounded(c, c::rollback);
            } catch (SQLException e) {
                t.addSuppressed(e);
            }
            // Rolled back, or its commit failed (also when its outcome is unknown: a retry saves the records again)
            state.restoreRecords(0, t);
            throw sneakyThrow(t);
        } finally {
            state.ended = true;
            database.connections().leaveTransaction();
            try {
                connections.bounded(c, () -> c.setAutoCommit(true));
            } catch (SQLException ignored) {
                // The pool resets autocommit on return and evicts connections that fail to.
            }
        }
    }

    /**
     * Commits; a commit that fails on a broken connection may or may not have reached the server: that is said
     * (SQLState 08007), unless the connection was aborted or closed before the commit was sent (08006, 08003).
     */
    private static void commit(Connections connections, Connection c) {
        try {
            connections.bounded(c, c::commit);
        } catch (SQLException e) {
            String state = e.getSQLState();
            if (Calls.connectionAborted()) {
                String message = "Cannot commit: the connection was aborted, so the transaction was rolled back";
                throw new DataAccessException(message, new java.sql.SQLNonTransientConnectionException(message, "08006", e));
            }
            if (state != null && state.startsWith("08") && !state.equals("08003")) {
                String message = "Cannot commit, the connection failed (" + state + "): the transaction may have been"
                        + " committed (SQLState 08007); check before retrying: " + e.getMessage();
                throw new DataAccessException(message, new java.sql.SQLTransientConnectionException(message, "08007", e));
            }
            throw translate("commit", e);
        }
    }

    private <T> T inSavepoint(Function<? super Session, ? extends T> work) {
        Savepoint savepoint;
        try {
            savepoint = connection.setSavepoint();
        } catch (SQLException e) {
            throw translate("set a savepoint", e);
        }
        int mark = transaction.restoreMark();
        try {
            T result = work.apply(this);
            connection.releaseSavepoint(savepoint);
            return result;
        } catch (Throwable t) {
            try {
                connection.rollback(savepoint);
            } catch (SQLException e) {
                t.addSuppressed(e);
            }
            transaction.restoreRecords(mark, t);
            if (t instanceof SQLException e) {
                throw translate("release a savepoint", e);
            }
            throw sneakyThrow(t);
        }
    }

    /**
     * Runs a call on this session's connection, the current thread's transaction, or a borrowed one; its
     * statements read at most {@code maxRows} rows (0: no limit).
     */
    <T> T run(int maxRows, Function<DSLContext, T> call) {
        if (connection != null) {
            checkUsable();
            return Calls.run(null, statementTimeout, maxRows, false, () -> {
                // the transaction's connection is the call's again (work of another database's transaction may
                // run this statement, and a timeout's abort or the liveness watch must find this connection)
                Calls.using(transaction.lease);
                return database.connections().bound(connection, () -> call.apply(database.callDsl()));
            });
        }
        Session current = database.connections().transactionOnThisThread();
        if (current != null) {
            return current.withTimeoutOf(this).run(maxRows, call);
        }
        database.checkOpen();
        return Calls.run(null, statementTimeout, maxRows, true, () -> {
            try (Connections.Lease lease = database.connections().acquire()) {
                Calls.using(lease);
                return database.connections().bound(lease.connection(), () -> call.apply(database.callDsl()));
            }
        });
    }

    private void checkUsable() {
        if (transaction.ended) {
            throw new IllegalStateException("this Session belonged to a transaction that has ended; "
                    + "use it only inside the work passed to transaction()");
        }
        if (Thread.currentThread() != transaction.owner) {
            throw new IllegalStateException("this Session belongs to a transaction running on thread "
                    + transaction.owner.getName() + "; use it only on that thread, inside the work passed to transaction()");
        }
    }

    private static DataAccessException translate(String action, SQLException e) {
        return new DataAccessException("Cannot " + action + ": " + e.getMessage(), e);
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneakyThrow(Throwable t) throws E {
        throw (E) t;
    }
}
