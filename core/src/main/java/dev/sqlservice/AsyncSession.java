package dev.sqlservice;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jooq.Query;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.UpdatableRecord;

/**
 * The asynchronous session, with the verbs of Python's sqlservice: {@code all}, {@code first}, {@code one},
 * {@code oneOrNone}, {@code execute}, {@code save}, {@code saveAll} and {@code transaction}.
 *
 * <p>Every method checks its arguments on the calling thread (misuse throws at once, before any SQL) and
 * returns a {@link CompletionStage}. The call runs on the database's executor (by default at most
 * {@code poolSize} virtual threads taking calls in arrival order), where it borrows a pooled connection for its
 * own duration; with the default executor, a platform thread that calls {@code join()} on the stage of a query or
 * save that is next in line, with nothing attached to the stage yet, while a worker place and a connection
 * are free, runs it itself rather than wait idle (transaction work never runs there).
 * Callbacks attached before the call ends ({@code thenApply}, {@code whenComplete}, ...) never run on one of the
 * workers: they run on a virtual thread that is not, or no longer, a worker, or on a thread joining the stage
 * (which may run them, as {@link java.util.concurrent.CompletableFuture#join} does), so they may block, even on
 * other calls; callbacks attached later run on the thread that attaches them (plain
 * {@link java.util.concurrent.CompletableFuture} rules). Database failures
 * complete the stage exceptionally with jOOQ's {@link org.jooq.exception.DataAccessException}, SQLState kept; a
 * call that waited longer than {@code acquisitionTimeout} for its turn fails with SQLState 08001; a call still
 * queued when the database closes fails with {@link IllegalStateException}. The blocking {@link Session}
 * documents each verb's semantics.
 *
 * <p>Called from inside {@link #transaction}'s work (on its thread), a method runs at once, in that transaction,
 * and returns a completed stage: waiting for a second connection there could wait forever on a small pool
 * (jOOQ #13563). Prefer the {@link Session} that {@code work} is given.
 *
 * <p>Thread-safe.
 */
public final class AsyncSession {

    private final Database database;
    private final Session pooled;

    AsyncSession(Database database, Session pooled) {
        this.database = database;
        this.pooled = pooled;
    }

    /**
     * This session with another statement timeout, which also applies to calls it makes inside transaction work.
     * When it expires, the statement is cancelled on the server (on another thread; the
     * call ends within the timeout plus one second whatever the network does) and the call fails with a
     * {@link org.jooq.exception.DataAccessException} whose cause is a {@link java.sql.SQLTimeoutException}: SQLState 57014
     * (PostgreSQL) / 70100 (MariaDB) when the server confirmed the cancel; SQLState 08007 ("may have been applied")
     * when it did not within a second (the connection is then aborted) or the statement was a procedure. Inside a
     * transaction whose connection had to be aborted, the cause is a
     * {@link java.sql.SQLNonTransientConnectionException} with SQLState 08006 and the transaction rolls back. A
     * statement that finished before the cancel landed returns its result.
     *
     * @param timeout a positive duration (millisecond precision), or null for none
     * @return a session with that timeout, sharing this one's database
     * @throws IllegalArgumentException when {@code timeout} is zero or negative
     */
    public AsyncSession withStatementTimeout(Duration timeout) {
        return new AsyncSession(database, pooled.withStatementTimeout(timeout));
    }

    /**
     * Every row of a query.
     *
     * @param query a jOOQ query, attached or not; not to be run by another call at the same time
     * @param <R> the record type
     * @return a stage completing with every row (an empty result when there is none)
     * @throws NullPointerException when {@code query} is null
     */
    public <R extends Record> CompletionStage<Result<R>> all(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return submit(session -> session.all(query));
    }

    /**
     * The first row of a query, reading at most one row from the server.
     *
     * @param query a jOOQ query
     * @param <R> the record type
     * @return a stage completing with the first row, or empty
     * @throws NullPointerException when {@code query} is null
     */
    public <R extends Record> CompletionStage<Optional<R>> first(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return submit(session -> session.first(query));
    }

    /**
     * Exactly one row.
     *
     * @param query a jOOQ query
     * @param <R> the record type
     * @return a stage completing with the row, or failing with {@link org.jooq.exception.NoDataFoundException}
     *     or {@link org.jooq.exception.TooManyRowsException}
     * @throws NullPointerException when {@code query} is null
     */
    public <R extends Record> CompletionStage<R> one(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return submit(session -> session.one(query));
    }

    /**
     * Zero or one row.
     *
     * @param query a jOOQ query
     * @param <R> the record type
     * @return a stage completing with the row or empty, or failing with
     *     {@link org.jooq.exception.TooManyRowsException}
     * @throws NullPointerException when {@code query} is null
     */
    public <R extends Record> CompletionStage<Optional<R>> oneOrNone(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        return submit(session -> session.oneOrNone(query));
    }

    /**
     * Executes a statement.
     *
     * @param query a jOOQ query
     * @return a stage completing with the number of affected rows
     * @throws NullPointerException when {@code query} is null
     */
    public CompletionStage<Integer> execute(Query query) {
        Objects.requireNonNull(query, "query == null");
        return submit(session -> session.execute(query));
    }

    /**
     * Every row of a prepared query, run with its bound values; see {@link PreparedQuery}.
     *
     * @param query a query prepared by this session's {@link Database}, every parameter bound
     * @param <R> the record type
     * @return a stage completing with every row (an empty result when there is none)
     * @throws NullPointerException when {@code query} is null
     * @throws IllegalArgumentException when a parameter has no value, or the query was prepared by another
     *     database
     */
    public <R extends Record> CompletionStage<Result<R>> all(PreparedQuery<R> query) {
        PreparedQuery.Run<R> run = pooled.prepared(query);
        return submit(session -> session.all(run));
    }

    /**
     * The first row of a prepared query, reading at most one row from the server.
     *
     * @param query a prepared query, every parameter bound
     * @param <R> the record type
     * @return a stage completing with the first row, or empty
     * @throws IllegalArgumentException as {@link #all(PreparedQuery)}
     */
    public <R extends Record> CompletionStage<Optional<R>> first(PreparedQuery<R> query) {
        PreparedQuery.Run<R> run = pooled.prepared(query);
        return submit(session -> session.first(run));
    }

    /**
     * Exactly one row of a prepared query.
     *
     * @param query a prepared query, every parameter bound
     * @param <R> the record type
     * @return a stage completing with the row, or failing with {@link org.jooq.exception.NoDataFoundException}
     *     or {@link org.jooq.exception.TooManyRowsException}
     * @throws IllegalArgumentException as {@link #all(PreparedQuery)}
     */
    public <R extends Record> CompletionStage<R> one(PreparedQuery<R> query) {
        PreparedQuery.Run<R> run = pooled.prepared(query);
        return submit(session -> session.one(run));
    }

    /**
     * Zero or one row of a prepared query.
     *
     * @param query a prepared query, every parameter bound
     * @param <R> the record type
     * @return a stage completing with the row or empty, or failing with
     *     {@link org.jooq.exception.TooManyRowsException}
     * @throws IllegalArgumentException as {@link #all(PreparedQuery)}
     */
    public <R extends Record> CompletionStage<Optional<R>> oneOrNone(PreparedQuery<R> query) {
        PreparedQuery.Run<R> run = pooled.prepared(query);
        return submit(session -> session.oneOrNone(run));
    }

    /**
     * Every row of plain SQL with {@code :named} parameters.
     *
     * @param sql SQL text
     * @param params a value for each parameter the SQL uses, and nothing else
     * @return a stage completing with every row, readable by column name
     * @throws NullPointerException when {@code sql} or {@code params} is null
     * @throws IllegalArgumentException when a parameter has no value, a value names no parameter, a collection
     *     value is empty, or the SQL has an unterminated quote or comment
     */
    public CompletionStage<Result<Record>> all(String sql, Map<String, ?> params) {
        return all(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #all(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return a stage completing with every row
     * @throws IllegalArgumentException when the SQL uses a parameter
     */
    public CompletionStage<Result<Record>> all(String sql) {
        return all(sql, Map.of());
    }

    /**
     * The first row of plain SQL, reading at most one row from the server.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return a stage completing with the first row, or empty
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public CompletionStage<Optional<Record>> first(String sql, Map<String, ?> params) {
        return first(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #first(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return a stage completing with the first row, or empty
     */
    public CompletionStage<Optional<Record>> first(String sql) {
        return first(sql, Map.of());
    }

    /**
     * Exactly one row of plain SQL.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return a stage completing with the row, or failing with {@code NoDataFoundException} or
     *     {@code TooManyRowsException}
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public CompletionStage<Record> one(String sql, Map<String, ?> params) {
        return one(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #one(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return a stage completing with the row
     */
    public CompletionStage<Record> one(String sql) {
        return one(sql, Map.of());
    }

    /**
     * Zero or one row of plain SQL.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return a stage completing with the row or empty, or failing with {@code TooManyRowsException}
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public CompletionStage<Optional<Record>> oneOrNone(String sql, Map<String, ?> params) {
        return oneOrNone(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * {@link #oneOrNone(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return a stage completing with the row or empty
     */
    public CompletionStage<Optional<Record>> oneOrNone(String sql) {
        return oneOrNone(sql, Map.of());
    }

    /**
     * Executes plain SQL with {@code :named} parameters.
     *
     * @param sql SQL text
     * @param params parameter values
     * @return a stage completing with the number of affected rows
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     */
    public CompletionStage<Integer> execute(String sql, Map<String, ?> params) {
        return execute(PlainSql.query(sql, params, database.backend()));
    }

    /**
     * {@link #execute(String, Map)} for SQL without parameters.
     *
     * @param sql SQL text
     * @return a stage completing with the number of affected rows
     */
    public CompletionStage<Integer> execute(String sql) {
        return execute(sql, Map.of());
    }

    /**
     * The rows of a query as a {@link Flow.Publisher} with backpressure (Reactor's {@code Flux.from},
     * {@code JdkFlowAdapter}, RxJava and Mutiny adapt it): rows are read from a server-side cursor only as the
     * subscriber requests them, each fetch asking the server for what is requested (at most
     * {@value Streams#FETCH_SIZE} rows at a time), so memory stays bounded whatever the number of rows and however
     * slow the subscriber.
     *
     * <p>Nothing runs until the first {@code request}: then the query runs on a virtual thread of its own (not one
     * of the executor's workers: the stream holds its connection, and reading it must not wait behind calls that
     * wait for one), which borrows a pooled connection (waiting up to {@code acquisitionTimeout}) and keeps it
     * until the rows end, the query fails, the subscriber cancels or throws, or the subscription is abandoned
     * (found by the garbage collector, logged and released). Signals come from one thread at a time, in order:
     * {@code onSubscribe}, then {@code onNext} per row, then one of {@code onComplete} (also for no rows) or
     * {@code onError}. A failure half-way comes after the rows read before it. The session's statement timeout
     * applies to each fetch; {@code cancel()} stops a fetch running on the server. {@code request(n)} with
     * {@code n <= 0} ends the subscription with {@code onError(IllegalArgumentException)} (rule 3.9); a second
     * subscriber gets {@code onError(IllegalStateException)}: each publisher runs its query once.
     *
     * @param query a jOOQ query, attached or not; not to be run by another call at the same time
     * @param <R> the record type
     * @return a publisher for one subscriber
     * @throws NullPointerException when {@code query} is null
     * @throws IllegalStateException when called inside {@link #transaction} work (use the blocking
     *     {@link Session#stream(ResultQuery)} of the session it was given), or when the database is closed
     */
    public <R extends Record> Flow.Publisher<R> stream(ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        database.checkOpen();
        if (database.connections().transactionOnThisThread() != null) {
            throw new IllegalStateException("a publisher cannot read inside transaction work, whose connection belongs"
                    + " to its thread: use the Session's blocking stream() there");
        }
        return new Streams.Publisher<>((call, fetchSize) -> pooled.open(call, query, fetchSize));
    }

    /**
     * {@link #stream(ResultQuery)} for plain SQL with {@code :named} parameters.
     *
     * @param sql SQL text
     * @param params a value for each parameter the SQL uses, and nothing else
     * @return a publisher for one subscriber of records readable by column name
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     * @throws IllegalStateException as {@link #stream(ResultQuery)}
     */
    public Flow.Publisher<Record> stream(String sql, Map<String, ?> params) {
        return stream(PlainSql.resultQuery(sql, params, database.backend()));
    }

    /**
     * Passes every row of a query to {@code action}, in order, reading them from a server-side cursor
     * ({@link Session#stream(ResultQuery)}): memory stays bounded whatever the number of rows. The rows are read
     * and {@code action} runs on the executor, like any call, which holds its pooled connection until the end.
     *
     * @param query a jOOQ query
     * @param action called once per row, on the executor's thread; what it throws fails the stage
     * @param <R> the record type
     * @return a stage completing with the number of rows (0 when there is none), or failing with the database's
     *     {@code DataAccessException} or what {@code action} threw (the rows before it were passed to
     *     {@code action}); cancelling it stops the reading and releases the connection
     * @throws NullPointerException when {@code query} or {@code action} is null
     */
    public <R extends Record> CompletionStage<Long> forEach(ResultQuery<R> query, Consumer<? super R> action) {
        Objects.requireNonNull(query, "query == null");
        Objects.requireNonNull(action, "action == null");
        // A reader that wants no more rows: cancelling stops the reading whatever the query did (a stream's cancel).
        return submit(true, session -> {
            long count = 0;
            try (Stream<R> rows = session.stream(query)) {
                for (java.util.Iterator<R> it = rows.iterator(); it.hasNext(); count++) {
                    action.accept(it.next());
                }
            }
            return count;
        });
    }

    /**
     * {@link #forEach(ResultQuery, Consumer)} for plain SQL with {@code :named} parameters.
     *
     * @param sql SQL text
     * @param params parameter values
     * @param action called once per row
     * @return a stage completing with the number of rows
     * @throws IllegalArgumentException as {@link #all(String, Map)}
     * @throws NullPointerException when an argument is null
     */
    public CompletionStage<Long> forEach(String sql, Map<String, ?> params, Consumer<? super Record> action) {
        return forEach(PlainSql.resultQuery(sql, params, database.backend()), action);
    }

    /**
     * Upserts one record by primary key, in the database; see {@link Session#saveAll(Collection)}.
     *
     * @param record a generated record
     * @param <R> the record type
     * @return a stage completing with {@code record} itself, refreshed with the stored row
     * @throws NullPointerException when {@code record} is null
     * @throws IllegalArgumentException when its table has no primary key or a composite key is partly set
     */
    public <R extends UpdatableRecord<R>> CompletionStage<R> save(R record) {
        Objects.requireNonNull(record, "record == null");
        Upserts.Plan<R> plan = Upserts.plan(List.of(record), database.backend());
        return submit(session -> session.saveAll(plan).getFirst());
    }

    /**
     * Upserts records by primary key, in one transaction; see {@link Session#saveAll(Collection)}.
     *
     * @param records records of tables with a primary key
     * @param <R> the record type
     * @return a stage completing with the same instances in input order (at once and without SQL for an empty
     *     collection), or failing with a {@code DataAccessException} after which nothing was written and every
     *     record is as it was before the call
     * @throws NullPointerException when {@code records} or an element is null
     * @throws IllegalArgumentException when a table has no primary key, a composite key is partly set, or the
     *     same record or primary key appears twice
     */
    public <R extends UpdatableRecord<?>> CompletionStage<List<R>> saveAll(Collection<? extends R> records) {
        Upserts.Plan<R> plan = Upserts.plan(records, database.backend());
        if (plan.isEmpty()) {
            return CompletableFuture.completedFuture(plan.records());
        }
        return submit(session -> session.saveAll(plan));
    }

    /**
     * Runs {@code work} in a transaction, on one connection and one thread of the executor; see
     * {@link Session#transaction(Function)}.
     *
     * @param work the unit of work; use the session it is given
     * @param <T> the result type
     * @return a stage completing with what {@code work} returned, after the commit, or failing with what it
     *     threw, after the rollback
     * @throws NullPointerException when {@code work} is null
     */
    public <T> CompletionStage<T> transaction(Function<? super Session, ? extends T> work) {
        Objects.requireNonNull(work, "work == null");
        return submit(false, true, session -> session.transaction(work));
    }

    /** The one place where calls leave the caller's thread. */
    private <T> CompletionStage<T> submit(Function<Session, T> call) {
        return submit(false, call);
    }

    /**
     * The one funnel of asynchronous calls.
     *
     * @param reading the call reads a stream: cancelling it cancels it at once, whatever its statement did
     */
    private <T> CompletionStage<T> submit(boolean reading, Function<Session, T> call) {
        return submit(reading, false, call);
    }

    /**
     * The one funnel of asynchronous calls.
     *
     * @param reading the call reads a stream: cancelling it cancels it at once, whatever its statement did
     * @param userWork the call runs the caller's code (transaction work), which must always run on the
     *     executor: a thread that joins it never runs it itself ({@link Pending#join})
     */
    private <T> CompletionStage<T> submit(boolean reading, boolean userWork, Function<Session, T> call) {
        database.checkOpen();
        if (database.connections().transactionOnThisThread() != null) {
            // Inside transaction work: run at once, in that transaction (the pooled session joins it, with this
            // session's statement timeout).
            try {
                return CompletableFuture.completedFuture(call.apply(pooled));
            } catch (Throwable t) {
                return CompletableFuture.failedFuture(t);
            }
        }
        Executor executor = database.executor();
        Dispatcher helpable = !reading && !userWork && executor instanceof Dispatcher d ? d : null;
        Pending<T> result = new Pending<>(reading, helpable, database.connections());
        result.job = new Dispatcher.Job() {
            private boolean ran;
            private T value;
            private Throwable failure;

            @Override
            void work() {
                if (result.isDone()) {
                    return;
                }
                ran = true;
                try {
                    value = Calls.run(result.running, null, 0, true, () -> call.apply(pooled));
                } catch (Throwable t) {
                    failure = t;
                }
            }

            @Override
            void finish() {
                if (ran) {
                    complete(result, value, failure);
                }
            }

            @Override
            void expire() {
                completeElsewhere(result, database.connections().exhausted());
            }

            @Override
            void reject() {
                completeElsewhere(result, new IllegalStateException("the Database was closed before this call started"));
            }
        };
        try {
            executor.execute(result.job);
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the Database's executor rejected the call: is the Database closed?", e);
        }
        return result;
    }

    /** The stage of a call: cancellable as {@link Calls.Call#cancel} says, and helped by a thread that joins it. */
    private static final class Pending<T> extends CompletableFuture<T> {
        final Calls.Call running = Calls.Call.queued();
        private final boolean reading;
        /** The dispatcher whose queue holds the call, when a joining thread may run it; otherwise null. */
        private final Dispatcher dispatcher;
        private final Connections connections;
        Dispatcher.Job job;

        Pending(boolean reading, Dispatcher dispatcher, Connections connections) {
            this.reading = reading;
            this.dispatcher = dispatcher;
            this.connections = connections;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            // Refused once a transaction has begun to commit (the stage reports the commit), and once a
            // statement outside a transaction was sent: the server is asked to cancel it, and the stage then
            // reports what the server says (cancelled when it confirms, the result when the statement won).
            return !isDone() && (reading ? running.cancelStream() : running.cancel())
                    && super.cancel(mayInterruptIfRunning);
        }

        /**
         * Waits for the call, as {@link CompletableFuture#join} does; a platform thread that joins a query or
         * save not yet taken by a worker runs it itself instead of waiting for a virtual thread to start, run it
         * and wake it (a fork/join pool's joining thread helps the same way), when the call is next in the queue,
         * a worker place and a connection are free (it never jumps the queue, and the database's close waits for
         * it as for a worker), and nothing depends on the stage yet ({@code orTimeout}, {@code thenApply}, ...:
         * they must be able to end or follow the join on their own terms). What the caller sees is the same:
         * the call waits for its connection within the acquisition timeout, a cancel ends that wait, an
         * interrupt does not (it is kept for the caller, as {@code join()} keeps it), and callbacks run where
         * {@code CompletableFuture} runs them (the completing thread, here the joining one, or any thread that
         * joins). Virtual threads never help: an interrupt of a virtual thread closes the socket it reads, so it
         * must never run a call it merely waits for.
         */
        @Override
        public T join() {
            Thread thread = Thread.currentThread();
            // Not with dependents: orTimeout, completeOnTimeout or a callback may have to end this join (or be
            // run by it) while the call would still run on this thread.
            if (dispatcher != null && !isDone() && !thread.isVirtual() && !thread.isInterrupted()
                    && getNumberOfDependents() == 0) {
                dispatcher.help(job, connections::hasFreeConnection, running::runsOnJoiningThread);
            }
            return super.join();
        }
    }

    /** Fails a stage on a new virtual thread: the timer or the closing thread must not run its callbacks. */
    private static void completeElsewhere(CompletableFuture<?> result, Throwable failure) {
        Thread.ofVirtual().name("sqlservice-callbacks").start(() -> result.completeExceptionally(failure));
    }

    private static <T> void complete(CompletableFuture<T> result, T value, Throwable failure) {
        if (failure == null) {
            result.complete(value);
        } else {
            result.completeExceptionally(failure);
        }
    }
}
