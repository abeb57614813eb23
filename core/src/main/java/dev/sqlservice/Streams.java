package dev.sqlservice;

import java.lang.ref.Cleaner;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.Spliterator;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.jooq.exception.DataAccessException;

/**
 * Query results read in bounded batches from a server-side cursor: the blocking {@link Stream} of
 * {@link Session#stream} and the {@link Flow.Publisher} of {@link AsyncSession#stream}.
 *
 * <p>A {@link Cursor} holds its connection from the query's execution until it is released: at the end of the
 * rows, on a failure, or when closed (the same on every path: {@link Cursor#release}). Every batch is read as the
 * call's running statement ({@link Calls#reading}): the statement timeout counts per batch, and a cancel reaches
 * the server. A cursor nobody can reach any more before it was closed is found by a {@link Cleaner}, counted,
 * logged with the place it was opened, and released.
 */
final class Streams {

    /** Rows per fetch of a blocking stream; the most a publisher fetches at once, whatever its demand. */
    static final int FETCH_SIZE = 1_000;

    private static final System.Logger LOG = System.getLogger(Streams.class.getName());
    private static final Cleaner CLEANER =
            Cleaner.create(Thread.ofPlatform().daemon().name("sqlservice-stream-cleaner").factory());

    private Streams() {}

    /** Where a cursor stands. Every state but {@code OPEN} holds no connection. */
    private enum State { OPEN, EXHAUSTED, FAILED, CLOSED }

    /**
     * An executed query whose rows are read in batches. Thread-safe: reads and the release are serialized; a
     * {@link #cancel} may come from any thread.
     */
    static final class Cursor<R extends Record> {
        private final Database database;
        private final Connection connection;
        /** The connection borrowed for this cursor; null when it reads on a transaction's connection. */
        private final Connections.Lease lease;
        /**
         * The connection a batch records as the call's ({@link Calls#reading}): the cursor's own lease, or the
         * transaction's it reads in (which it does not own).
         */
        private final Connections.Lease recorded;
        /** Whether the cursor runs in a read-only transaction of its own (PostgreSQL outside a transaction). */
        private final boolean ownTransaction;
        private final Calls.Call call;
        private final Duration timeout;
        /** Throws when the cursor's transaction session may not be used here, now. */
        private final Runnable checkUsable;
        /** The open cursors of the cursor's transaction, which closes them when it ends; null outside one. */
        private final Set<Cursor<?>> transactionStreams;
        private final Throwable openedAt = new Throwable("the stream was opened here");
        private org.jooq.Cursor<R> rows;
        private Statement statement;
        private int fetchSize;
        private volatile State state = State.OPEN;
        private Throwable failure;
        /** A failure that came after rows still to be handed out: thrown by the next fetch. */
        private RuntimeException pendingFailure;
        private Cleaner.Cleanable cleanable;
        /** The session was set up for streaming and must be put back at release. */
        private boolean sessionPrepared;

        private Cursor(Database database, Connection connection, Connections.Lease lease, Connections.Lease transaction,
                boolean ownTransaction,
                Calls.Call call, Duration timeout, Runnable checkUsable, Set<Cursor<?>> transactionStreams) {
            this.database = database;
            this.connection = connection;
            this.lease = lease;
            this.recorded = lease != null ? lease : transaction;
            this.ownTransaction = ownTransaction;
            this.call = call;
            this.timeout = timeout;
            this.checkUsable = checkUsable;
            this.transactionStreams = transactionStreams;
        }

        /**
         * Executes {@code query} on a borrowed connection (waiting for it as a call does), in a read-only
         * transaction of its own where the driver needs one to stream.
         *
         * @param call the call whose cancel reaches the cursor: the caller's current call, or one of its own
         */
        static <R extends Record> Cursor<R> leased(Database database, Calls.Call call, Duration timeout,
                ResultQuery<R> query, int fetchSize) {
            boolean ownTransaction = database.backend().streamsOnlyInTransactions();
            return Calls.run(call, timeout, 0, fetchSize, !ownTransaction, () -> {
                Connections.Lease lease = database.connections().acquire();
                Calls.using(lease);
                Cursor<R> cursor = new Cursor<>(database, lease.connection(), lease, null, ownTransaction, call, timeout,
                        () -> {}, null);
                try {
                    if (ownTransaction) {
                        Connection c = lease.connection();
                        database.connections().bounded(c, () -> {
                            c.setAutoCommit(false);
                            c.setReadOnly(true);
                        });
                    }
                    cursor.prepareSession();
                    cursor.execute(query, fetchSize);
                    return cursor;
                } catch (SQLException e) {
                    cursor.release(State.FAILED, e);
                    throw new DataAccessException("Cannot begin a read-only transaction: " + e.getMessage(), e);
                } catch (RuntimeException | Error e) {
                    cursor.release(State.FAILED, e);
                    throw e;
                }
            });
        }

        /**
         * Executes {@code query} on a transaction's connection; the cursor is closed at the latest when the
         * transaction ends.
         */
        static <R extends Record> Cursor<R> inTransaction(Database database, Connections.Lease transaction, Calls.Call call,
                Duration timeout, ResultQuery<R> query, int fetchSize, Runnable checkUsable, Set<Cursor<?>> streams) {
            Cursor<R> cursor = new Cursor<>(database, transaction.connection(), null, transaction, false, call, timeout,
                    checkUsable, streams);
            try {
                cursor.prepareSession();
            } catch (SQLException e) {
                throw new DataAccessException("Cannot prepare the session to stream: " + e.getMessage(), e);
            }
            Calls.run(call, timeout, 0, fetchSize, false, () -> {
                Calls.using(transaction); // the transaction's connection is the call's (its work may be another database's)
                cursor.execute(query, fetchSize);
                return null;
            });
            streams.add(cursor);
            return cursor;
        }

        /** The backend's session set-up for streaming ({@link Backend#streamSessionSql}), undone at release. */
        private void prepareSession() throws SQLException {
            String[] sql = database.backend().streamSessionSql();
            if (sql != null) {
                runOnSession(sql[0]);
                sessionPrepared = true;
            }
        }

        private void runOnSession(String sql) throws SQLException {
            database.connections().bounded(connection, () -> {
                try (Statement s = connection.createStatement()) {
                    s.execute(sql);
                }
            });
        }

        /** Runs the query; the current call is the cursor's. */
        private void execute(ResultQuery<R> query, int size) {
            rows = database.connections().bound(connection, () -> database.callDsl().fetchLazy(query));
            fetchSize = size;
            try {
                statement = rows.resultSet().getStatement();
            } catch (SQLException e) {
                throw new DataAccessException("Cannot read the statement of a result: " + e.getMessage(), e);
            }
        }

        /**
         * Reports and releases this cursor once {@code owner}, the object its reader holds, is unreachable while
         * the cursor is still open.
         */
        void watch(Object owner) {
            cleanable = CLEANER.register(owner, new Abandonment(this));
        }

        /**
         * The next rows, at most {@code n}; fewer only at the end (then the cursor is released and every later
         * call returns none) or when the database failed after some of them (the cursor is released, and the next
         * call throws that failure). A failure releases the cursor; once thrown, every later call throws an
         * {@link IllegalStateException}.
         *
         * @throws IllegalStateException when the cursor was closed or failed, or its transaction session may not be
         *     used here
         * @throws DataAccessException when the database fails (timeouts included)
         * @throws java.util.concurrent.CancellationException when the cursor's call was cancelled
         */
        synchronized List<R> fetch(int n) {
            RuntimeException failed = pendingFailure;
            if (failed != null) {
                pendingFailure = null;
                throw failed;
            }
            checkNotClosed();
            if (state == State.FAILED) {
                throw new IllegalStateException("this stream failed and was released: " + failure, failure);
            }
            if (state == State.EXHAUSTED) {
                return List.of();
            }
            List<R> batch = new ArrayList<>(n);
            try {
                checkUsable.run();
                Calls.run(call, timeout, 0, !ownTransaction && lease != null, () -> Calls.reading(database.calls(), recorded, statement, () -> {
                    if (n != fetchSize) {
                        try {
                            rows.resultSet().setFetchSize(n);
                        } catch (SQLException e) {
                            throw new DataAccessException("Cannot set the fetch size: " + e.getMessage(), e);
                        }
                        fetchSize = n;
                    }
                    for (int i = 0; i < n; i++) {
                        R row = rows.fetchNext();
                        if (row == null) {
                            break;
                        }
                        batch.add(row);
                    }
                    return null;
                }));
            } catch (RuntimeException e) {
                release(State.FAILED, e);
                if (batch.isEmpty()) {
                    throw e;
                }
                // The rows read before the failure are handed out first; the failure comes after them.
                pendingFailure = e;
                return batch;
            } catch (Error e) {
                release(State.FAILED, e);
                throw e;
            }
            if (batch.size() < n) {
                release(State.EXHAUSTED, null);
            }
            return batch;
        }

        /** Whether every row has been read (the cursor is released). */
        boolean exhausted() {
            return state == State.EXHAUSTED;
        }

        /**
         * Whether the rows have ended, looking one row ahead if need be (a fetch of one row, kept for the next
         * {@link #fetch}): a publisher whose subscriber got exactly what it asked for must still be able to say
         * that there is no more, without waiting for another request. Releases the cursor at the end.
         *
         * @throws DataAccessException when the database fails reading ahead (the cursor is released)
         */
        synchronized boolean atEnd() {
            if (state != State.OPEN || pendingFailure != null) {
                return state == State.EXHAUSTED;
            }
            boolean more;
            try {
                checkUsable.run();
                more = Calls.run(call, timeout, 0, !ownTransaction && lease != null, () -> Calls.reading(database.calls(), recorded, statement, () -> {
                    if (fetchSize != 1) {
                        try {
                            rows.resultSet().setFetchSize(1);
                        } catch (SQLException e) {
                            throw new DataAccessException("Cannot set the fetch size: " + e.getMessage(), e);
                        }
                        fetchSize = 1;
                    }
                    return rows.hasNext();
                }));
            } catch (RuntimeException e) {
                release(State.FAILED, e);
                throw e;
            }
            if (!more) {
                release(State.EXHAUSTED, null);
            }
            return !more;
        }

        /**
         * Throws when the cursor was closed: reading a closed stream is a bug of the caller.
         *
         * @throws IllegalStateException saying so
         */
        void checkNotClosed() {
            if (state == State.CLOSED) {
                throw new IllegalStateException("this stream is closed; read its rows before closing it");
            }
        }

        /** Cancels the cursor's call: a batch being read is cancelled on the server, and no further one starts. */
        void cancel() {
            call.cancelStream();
        }

        /** Releases the cursor, if it still holds anything; reading afterwards is an {@link IllegalStateException}. */
        synchronized void close() {
            release(State.CLOSED, null);
            if (cleanable != null) {
                cleanable.clean();
            }
        }

        /**
         * The one way a cursor lets go: closes the result (stopping its query on the server first where the driver
         * would otherwise read the rest), ends its own transaction, and returns the connection. Never throws: a
         * connection that fails to end cleanly is evicted.
         */
        private synchronized void release(State next, Throwable why) {
            State previous = state;
            if (previous == State.CLOSED || previous == State.FAILED) {
                return;
            }
            state = next;
            if (next == State.FAILED) {
                failure = why;
            }
            if (previous != State.OPEN) {
                return;
            }
            if (transactionStreams != null) {
                transactionStreams.remove(this);
            }
            boolean clean = closeResult(next == State.EXHAUSTED);
            if (sessionPrepared && clean) {
                try {
                    runOnSession(database.backend().streamSessionSql()[1]);
                } catch (SQLException | RuntimeException e) {
                    clean = false;
                }
            }
            if (ownTransaction) {
                try {
                    database.connections().bounded(connection, () -> {
                        connection.rollback();
                        connection.setReadOnly(false);
                        connection.setAutoCommit(true);
                    });
                } catch (SQLException | RuntimeException e) {
                    clean = false;
                }
            }
            if (lease != null) {
                if (!clean) {
                    lease.abort();
                }
                lease.close();
            }
        }

        /** Closes the result set; whether it ended cleanly (otherwise the connection must not be reused). */
        private boolean closeResult(boolean atEnd) {
            if (rows == null || rows.isClosed()) {
                return true;
            }
            if (!atEnd && lease != null && database.backend().readsRestOfResultOnClose()) {
                // MariaDB's driver would read every remaining row off the socket (and its Statement.cancel() does
                // nothing between fetches): close the connection instead, which ends the query on the server; the
                // pool opens a new one.
                lease.abort();
                try {
                    rows.close();
                } catch (RuntimeException ignored) {
                    // The socket was closed under it.
                }
                return false;
            }
            try {
                if (call.isCancelled()) {
                    // A cancelled call starts no statement, nor this last reading: close at once.
                    rows.close();
                    return true;
                }
                Calls.run(call, timeout, 0, lease != null && !ownTransaction, () -> Calls.reading(database.calls(), recorded, statement, () -> {
                    rows.close();
                    return null;
                }));
                return true;
            } catch (RuntimeException e) {
                try {
                    rows.close();
                } catch (RuntimeException ignored) {
                    // Broken: the lease is evicted.
                }
                return false;
            }
        }

        /** Called by the cleaner when the cursor's owner became unreachable: reports and releases it. */
        private void abandoned() {
            if (state != State.OPEN) {
                return;
            }
            database.streamAbandoned();
            LOG.log(System.Logger.Level.WARNING, "sqlservice: a stream was never closed and became unreachable while it"
                    + " still held its connection; it is released now. Close streams with try-with-resources, or read"
                    + " them to the end; a publisher's subscriber must cancel or read to the end", openedAt);
            if (lease != null) {
                // A transaction's cursor is closed by its transaction, on its own thread (its connection is in use).
                Thread.ofVirtual().name("sqlservice-stream-release").start(this::close);
            }
        }
    }

    /** The cleaner's action: holds the cursor, never its owner. */
    private record Abandonment(Cursor<?> cursor) implements Runnable {
        @Override
        public void run() {
            cursor.abandoned();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Blocking
    // ---------------------------------------------------------------------------------------------------------

    /** The blocking form: a sequential, ordered stream whose {@code close()} releases the cursor. */
    static <R extends Record> Stream<R> blocking(Cursor<R> cursor) {
        Rows<R> rows = new Rows<>(cursor);
        // The stream's close handler and every iterator over it reach the Rows: it is the cursor's owner.
        cursor.watch(rows);
        return StreamSupport.stream(rows, false).onClose(rows::close);
    }

    /** Hands out a cursor's rows one by one, reading {@link #FETCH_SIZE} at a time. */
    private static final class Rows<R extends Record> implements Spliterator<R> {
        private final Cursor<R> cursor;
        private List<R> batch = List.of();
        private int next;

        Rows(Cursor<R> cursor) {
            this.cursor = cursor;
        }

        @Override
        public boolean tryAdvance(Consumer<? super R> action) {
            cursor.checkNotClosed();
            if (next == batch.size()) {
                batch = List.of();
                List<R> fetched = cursor.fetch(FETCH_SIZE);
                if (fetched.isEmpty()) {
                    return false;
                }
                batch = fetched;
                next = 0;
            }
            action.accept(batch.get(next++));
            return true;
        }

        void close() {
            batch = List.of();
            cursor.close();
        }

        @Override
        public Spliterator<R> trySplit() {
            return null;
        }

        @Override
        public long estimateSize() {
            return Long.MAX_VALUE;
        }

        @Override
        public int characteristics() {
            return ORDERED | NONNULL;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reactive
    // ---------------------------------------------------------------------------------------------------------

    /** Opens a cursor for a publisher's subscription, on the subscription's drain thread. */
    @FunctionalInterface
    interface Opener<R extends Record> {
        Cursor<R> open(Calls.Call call, int fetchSize);
    }

    /** A publisher of one query's rows, to one subscriber. */
    static final class Publisher<R extends Record> implements Flow.Publisher<R> {
        private final Opener<R> opener;
        private final AtomicBoolean subscribed = new AtomicBoolean();

        Publisher(Opener<R> opener) {
            this.opener = opener;
        }

        @Override
        public void subscribe(Flow.Subscriber<? super R> subscriber) {
            Objects.requireNonNull(subscriber, "subscriber == null");
            if (!subscribed.compareAndSet(false, true)) {
                subscriber.onSubscribe(Refused.INSTANCE);
                subscriber.onError(new IllegalStateException("this publisher has a subscriber already: it runs its query"
                        + " once, for one subscriber; call stream() again for another"));
                return;
            }
            Subscription<R> subscription = new Subscription<>(subscriber, opener);
            try {
                subscriber.onSubscribe(subscription);
            } catch (RuntimeException | Error e) {
                subscription.cancel();
                throw e;
            } finally {
                // Rule 1.3: no signal while onSubscribe runs; requests made inside it are served now.
                subscription.subscribed();
            }
        }
    }

    /** The subscription handed to a refused subscriber: ignores everything (it has its error already). */
    private enum Refused implements Flow.Subscription {
        INSTANCE;

        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
    }

    /**
     * A subscription: its signals come from one drain loop at a time (on a virtual thread started when there is
     * work), which opens the cursor at the first request and then fetches exactly the rows requested, at most
     * {@link #FETCH_SIZE} a batch, so no more than one batch is ever held. The cursor is released when the rows
     * end, on a failure, on {@code cancel()}, when the subscriber throws, or when the subscription is abandoned.
     */
    private static final class Subscription<R extends Record> implements Flow.Subscription {
        private final Flow.Subscriber<? super R> subscriber;
        private final Opener<R> opener;
        private final Calls.Call call = new Calls.Call();
        private final AtomicLong demand = new AtomicLong();
        /** Pending work for the drain loop; 1 from the start, held by subscribe() until onSubscribe returns. */
        private final AtomicInteger work = new AtomicInteger(1);
        private volatile boolean cancelled;
        private volatile IllegalArgumentException badRequest;
        /** Touched only by the drain loop. */
        private Cursor<R> cursor;
        private boolean terminated;

        Subscription(Flow.Subscriber<? super R> subscriber, Opener<R> opener) {
            this.subscriber = subscriber;
            this.opener = opener;
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                if (badRequest == null) {
                    badRequest = new IllegalArgumentException("request(" + n + "): a subscriber must request a positive"
                            + " number of rows (Reactive Streams rule 3.9)");
                }
            } else {
                demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            }
            drain();
        }

        @Override
        public void cancel() {
            cancelled = true;
            // Ends a batch being read or a connection being waited for; the drain loop releases the cursor.
            call.cancelStream();
            drain();
        }

        private void drain() {
            if (work.getAndIncrement() == 0) {
                Thread.ofVirtual().name("sqlservice-stream").start(this::loop);
            }
        }

        /** onSubscribe has returned: gives up subscribe()'s hold, and starts the loop for what came meanwhile. */
        void subscribed() {
            if (work.decrementAndGet() != 0) {
                Thread.ofVirtual().name("sqlservice-stream").start(this::loop);
            }
        }

        private void loop() {
            int missed = 1;
            while (true) {
                if (!terminated) {
                    emit();
                }
                missed = work.addAndGet(-missed);
                if (missed == 0) {
                    return;
                }
            }
        }

        /**
         * Delivers rows while there is demand; returns when there is none, or once terminated.
         *
         * <p>The hot path works per batch, not per row: the demand is read once per batch and the rows fetched for
         * it are taken from it with one atomic update; the batch is then handed out in a plain loop whose only
         * per-row work besides {@code onNext} is one read of {@code cancelled} (so a cancel from inside
         * {@code onNext} stops the very next row). Requests made meanwhile (from {@code onNext} or another thread)
         * only add to the demand and mark more work, so the next turn of this loop sees them.
         */
        private void emit() {
            while (true) {
                if (cancelled) {
                    terminate();
                    return;
                }
                IllegalArgumentException bad = badRequest;
                if (bad != null) {
                    terminate();
                    signalError(bad);
                    return;
                }
                long wanted = demand.get();
                if (wanted == 0) {
                    return;
                }
                // Never more rows than requested, and at most one batch in memory.
                int n = (int) Math.min(wanted, FETCH_SIZE);
                List<R> batch;
                try {
                    if (cursor == null) {
                        cursor = opener.open(call, n);
                        cursor.watch(this);
                    }
                    batch = cursor.fetch(n);
                } catch (Throwable t) {
                    terminate();
                    if (!cancelled) {
                        signalError(t);
                    }
                    return;
                }
                int size = batch.size();
                // The batch's rows are spent from the demand before they are handed out (an unbounded demand,
                // Long.MAX_VALUE, stays unbounded): a request from onNext adds to what is left.
                demand.accumulateAndGet(size, (left, taken) -> left == Long.MAX_VALUE ? left : left - taken);
                for (int i = 0; i < size; i++) {
                    if (cancelled) {
                        terminate();
                        return;
                    }
                    try {
                        subscriber.onNext(batch.get(i));
                    } catch (Throwable t) {
                        // Rule 2.13: the subscription is cancelled, and the failure reported once.
                        cancelled = true;
                        terminate();
                        signalError(t);
                        return;
                    }
                }
                boolean ended;
                try {
                    // Exactly what was asked for was delivered: look one row ahead, so that the end is signalled
                    // without waiting for a request the subscriber need not make.
                    ended = cursor.exhausted() || demand.get() == 0 && !cancelled && cursor.atEnd();
                } catch (Throwable t) {
                    terminate();
                    if (!cancelled) {
                        signalError(t);
                    }
                    return;
                }
                if (ended) {
                    terminate();
                    try {
                        subscriber.onComplete();
                    } catch (Throwable ignored) {
                        // Rule 2.13: nothing is left to tell it.
                    }
                    return;
                }
            }
        }

        private void terminate() {
            terminated = true;
            if (cursor != null) {
                cursor.close();
            }
        }

        private void signalError(Throwable t) {
            try {
                subscriber.onError(t);
            } catch (Throwable ignored) {
                // Rule 2.13: the subscriber broke the protocol; there is no one else to tell.
            }
        }
    }
}
