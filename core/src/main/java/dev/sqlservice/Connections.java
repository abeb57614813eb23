package dev.sqlservice;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jooq.ConnectionProvider;
import org.jooq.exception.DataAccessException;

/**
 * Hands out connections, at most {@code limit} at a time, to calls and to every jOOQ statement the library's
 * configurations run, and knows which transaction the current thread is in.
 *
 * <p>Callers queue on a fair semaphore rather than inside the pool: thousands of waiting virtual threads then
 * cost nothing, are served in arrival order, and each waits at most {@code acquisitionTimeout} in all (semaphore
 * and pool together). Every borrowed connection is a {@link Lease}, counted in {@link #activeConnections()},
 * whoever took it: a call, or a statement of {@link Database#dsl()} or of a record a call returned.
 */
final class Connections {

    private static final Executor ABORTS = command -> Thread.ofVirtual().name("sqlservice-abort").start(command);

    private final DataSource dataSource;
    private final HikariDataSource ownedPool;
    private final Backend backend;
    /** Bounds transaction control calls on the network; null for a data source handed in. */
    private final Duration deadConnectionTimeout;
    private final Semaphore permits;
    private final int limit;
    private final Duration acquisitionTimeout;
    private final String description;
    private final ThreadLocal<Session> transactionOnThread = new ThreadLocal<>();
    private final ThreadLocal<Connection> boundToThread = new ThreadLocal<>();
    /**
     * The connections borrowed now, one slot each: a lease holds a permit from before it takes a slot until after
     * it leaves it, so {@code limit} slots always have room (claimed with a compare-and-set, cheaper per call than
     * a concurrent set); {@link #overflow} only in case they had not.
     */
    private final java.util.concurrent.atomic.AtomicReferenceArray<Lease> slots;
    private final Set<Lease> overflow = ConcurrentHashMap.newKeySet();
    /**
     * Whether each lease checks its session ({@link Backend#unfitSession}): on a data source handed in, whose
     * sessions anyone may change at any time, every time (one round trip); the pool the library creates sets its
     * sessions up itself.
     */
    private final boolean checkSessions;

    private final Map<Connection, Lease> borrowedOutsideCalls = Collections.synchronizedMap(new IdentityHashMap<>());

    /**
     * jOOQ's way to our connections, shared by every configuration of the database (so a call derives none): the
     * connection bound to this thread (a call's, or a transaction's while its work runs); otherwise a lease taken
     * like any call's (same permits, same timeout) for the statement and given back after it.
     */
    final ConnectionProvider provider = new ConnectionProvider() {
        @Override
        public Connection acquire() {
            Connection bound = boundToThread.get();
            if (bound != null) {
                return bound;
            }
            Lease lease = Connections.this.acquire();
            borrowedOutsideCalls.put(lease.connection(), lease);
            // a Database.dsl() statement inside a call runs on this one, not on the call's connection
            Calls.borrowedForStatement(lease);
            return lease.connection();
        }

        @Override
        public void release(Connection connection) {
            if (connection == boundToThread.get()) {
                // the call's or transaction's own connection, handed out by acquire() above: theirs to give back
                // (and no lock shared by every thread on each statement of every call)
                return;
            }
            Lease lease = borrowedOutsideCalls.remove(connection);
            if (lease != null) {
                Calls.returnedAfterStatement(lease);
                lease.close();
            }
        }
    };

    /**
     * @param ownedPool the pool the database created (its connections can be waited for with a deadline and
     *     evicted), or null for a data source handed in (whose sessions are then checked once per connection)
     */
    Connections(DataSource dataSource, HikariDataSource ownedPool, Backend backend, Duration deadConnectionTimeout,
            int limit, Duration acquisitionTimeout, String description) {
        this.dataSource = dataSource;
        this.ownedPool = ownedPool;
        this.backend = backend;
        this.deadConnectionTimeout = deadConnectionTimeout;
        this.limit = limit;
        this.permits = new Semaphore(limit, true);
        this.slots = new java.util.concurrent.atomic.AtomicReferenceArray<>(limit);
        this.acquisitionTimeout = acquisitionTimeout;
        this.description = description;
        this.checkSessions = ownedPool == null && backend.checksSessions();
    }

    /**
     * A borrowed connection. Closing it returns the connection to the pool (evicting it when it was aborted) and
     * frees its permit; {@link #abort} ends it at once, from any thread.
     */
    final class Lease implements AutoCloseable {
        private final Connection connection;
        private volatile boolean aborted;
        private volatile String abortReason;
        private volatile boolean cancelUnconfirmed;
        /** Its slot in {@link #slots}, or -1 while it has none or when it is in {@link #overflow}. */
        private volatile int slot = -1;
        /** The call using it ({@link Calls#using}), for the liveness watch; null when none. */
        volatile Calls.Call call;

        private Lease(Connection connection) {
            this.connection = connection;
        }

        Connection connection() {
            return connection;
        }

        /**
         * Closes the connection's socket, on another thread (MariaDB's driver first tries a {@code KILL}, which
         * blocks): returns at once; a statement blocked on the connection then fails.
         */
        void abort() {
            abort(null);
        }

        /**
         * {@link #abort()}, saying why (for a call that later finds its connection aborted: {@link #abortReason}).
         */
        void abort(String reason) {
            abortReason = reason;
            aborted = true;
            ABORTS.execute(() -> {
                try {
                    backend.abort(connection, ABORTS);
                } catch (SQLException | RuntimeException ignored) {
                    // Already closed, or the driver cannot abort: closing the lease evicts it all the same.
                }
            });
        }

        /** Whether it was aborted. */
        boolean isAborted() {
            return aborted;
        }

        /** Why it was aborted, when it was and the abort said so; otherwise null. */
        String abortReason() {
            return abortReason;
        }

        /** A cancel was sent for a statement of this connection; until the server confirms it, it may still land. */
        void cancelSent() {
            cancelUnconfirmed = true;
        }

        /** The server reported the statement cancelled: no cancel is left in flight. */
        void cancelConfirmed() {
            cancelUnconfirmed = false;
        }

        @Override
        public void close() {
            if (!(slot >= 0 ? slots.compareAndSet(slot, this, null) : overflow.remove(this))) {
                return;
            }
            call = null;
            try {
                if (aborted || cancelUnconfirmed) {
                    // Never handed out again: aborted, or a cancel may still stop its next statement.
                    retire(connection, aborted);
                }
                connection.close();
            } catch (SQLException e) {
                throw new DataAccessException("Cannot return a connection to the pool: " + e.getMessage(), e);
            } finally {
                permits.release();
            }
        }
    }

    /**
     * Makes sure the pool never hands {@code connection} out again. Our pool evicts it. A data source handed in
     * gets it back ended: its physical connection aborted here, before it is returned (a later abort would hit a
     * connection the pool may already have lent to someone else), and evicted when the pool is HikariCP.
     */
    private void retire(Connection connection, boolean alreadyAborted) throws SQLException {
        if (ownedPool != null) {
            ownedPool.evictConnection(connection);
            return;
        }
        if (!alreadyAborted) {
            try {
                backend.abort(connection.unwrap(Connection.class), Runnable::run);
            } catch (SQLException | RuntimeException e) {
                // Already closed: nothing to stop.
            }
        }
        if (dataSource.isWrapperFor(HikariDataSource.class)) {
            dataSource.unwrap(HikariDataSource.class).evictConnection(connection);
        }
    }

    /** Whether a call could take a connection now without waiting behind another (a hint: others may race). */
    boolean hasFreeConnection() {
        return permits.availablePermits() > 0 && !permits.hasQueuedThreads();
    }

    /**
     * Borrows a connection, waiting at most what is left of the acquisition timeout (for the permit and the pool
     * together). A cancelled call stops waiting at once and takes nothing.
     *
     * @throws DataAccessException SQLState 08001 when no connection became free in time
     * @throws CancellationException when the call was cancelled while it waited
     */
    Lease acquire() {
        long deadline = System.nanoTime() + Calls.remainingWaitNanos(acquisitionTimeout);
        Calls.startWaitingForConnection();
        boolean acquired = false;
        Connection connection = null;
        // An interrupt the current call defers (a thread in CompletableFuture.join(), which waits uninterruptibly)
        // is kept for its thread, and the wait goes on.
        boolean deferredInterrupt = false;
        try {
            while (true) {
                try {
                    if (!acquired) {
                        acquired = permits.tryAcquire(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                    }
                    if (acquired) {
                        connection = connect(deadline);
                    }
                    break;
                } catch (InterruptedException e) {
                    if (!Calls.defersInterrupt()) {
                        throw e;
                    }
                    deferredInterrupt = true;
                }
            }
        } catch (InterruptedException e) {
            if (!Calls.stopWaitingForConnection()) {
                Thread.currentThread().interrupt();
                release(acquired, connection);
                throw new DataAccessException("Interrupted while waiting for a connection to " + description, e);
            }
        } catch (RuntimeException | Error e) {
            Calls.stopWaitingForConnection();
            release(acquired, connection);
            if (deferredInterrupt) {
                Thread.currentThread().interrupt();
            }
            throw e;
        }
        boolean cancelled = Calls.stopWaitingForConnection();
        if (deferredInterrupt) {
            Thread.currentThread().interrupt();
        }
        if (cancelled) {
            release(acquired, connection);
            throw new CancellationException("the call was cancelled while it waited for a connection");
        }
        if (!acquired) {
            throw exhausted();
        }
        Lease lease = new Lease(connection);
        enter(lease);
        return lease;
    }

    /** Puts {@code lease} in a free slot, starting at one that depends on the thread (callers rarely collide). */
    private void enter(Lease lease) {
        int n = slots.length();
        int start = (int) (Thread.currentThread().threadId() % n);
        for (int k = 0; k < n; k++) {
            int i = start + k < n ? start + k : start + k - n;
            if (slots.get(i) == null && slots.compareAndSet(i, null, lease)) {
                lease.slot = i;
                return;
            }
        }
        overflow.add(lease);
    }

    /** Every connection borrowed now (a snapshot: one may be given back meanwhile). */
    void forEachLease(java.util.function.Consumer<Lease> action) {
        for (int i = 0; i < slots.length(); i++) {
            Lease lease = slots.get(i);
            if (lease != null) {
                action.accept(lease);
            }
        }
        overflow.forEach(action);
    }

    private void release(boolean acquired, Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Going back to the pool unused; the pool evicts a broken one.
            }
        }
        if (acquired) {
            permits.release();
        }
    }

    /** A connection from the pool, within the deadline when the pool is ours; its session checked when it is not. */
    private Connection connect(long deadline) throws InterruptedException {
        Connection connection;
        try {
            if (ownedPool != null && ownedPool.getHikariPoolMXBean() instanceof HikariPool pool) {
                connection = pool.getConnection(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } else {
                connection = dataSource.getConnection();
            }
        } catch (SQLTransientConnectionException e) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            DataAccessException failure = exhausted();
            failure.addSuppressed(e);
            throw failure;
        } catch (SQLException e) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            throw new DataAccessException("Cannot get a connection to " + description + ": " + e.getMessage(), e);
        }
        if (checkSessions) {
            checkSession(connection);
        }
        return connection;
    }

    private void checkSession(Connection connection) {
        try {
            String unfit = backend.unfitSession(connection);
            if (unfit != null) {
                throw new UnfitSessionException(unfit);
            }
        } catch (SQLException e) {
            closeQuietly(connection);
            throw new DataAccessException("Cannot check a connection of " + description + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(connection);
            throw e;
        }
    }

    /** A data source whose sessions the library cannot use correctly. */
    static final class UnfitSessionException extends DataAccessException {
        UnfitSessionException(String message) {
            super(message);
        }
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // Already failing for a better reason.
        }
    }

    /** The failure of a call that waited {@code acquisitionTimeout} for a connection. */
    DataAccessException exhausted() {
        String message = "No connection to " + description + " became free within " + acquisitionTimeout.toMillis()
                + " ms (all " + limit + " in use); raise poolSize or acquisitionTimeout, or shorten transactions";
        return new DataAccessException(message, new SQLTransientConnectionException(message, "08001"));
    }

    /** A JDBC call on a connection that may block on the network (commit, rollback, autocommit). */
    @FunctionalInterface
    interface NetworkCall {
        void run() throws SQLException;
    }

    /**
     * Runs {@code call} with the connection's network timeout bounded by the dead-connection timeout, when there
     * is one: a transaction control statement on a dead connection then fails instead of waiting forever.
     */
    void bounded(Connection connection, NetworkCall call) throws SQLException {
        if (deadConnectionTimeout == null) {
            call.run();
            return;
        }
        int previous = connection.getNetworkTimeout();
        int bound = (int) Math.min(Integer.MAX_VALUE, deadConnectionTimeout.toMillis());
        connection.setNetworkTimeout(ABORTS, previous == 0 ? bound : Math.min(previous, bound));
        try {
            call.run();
        } finally {
            try {
                connection.setNetworkTimeout(ABORTS, previous);
            } catch (SQLException ignored) {
                // A broken connection: the pool evicts it.
            }
        }
    }

    /** Aborts every connection still borrowed: the database is closing and will not wait for them any longer. */
    void abortAll() {
        forEachLease(Lease::abort);
    }

    /** Runs {@code work} with {@code connection} as the one {@link #provider} hands out on this thread. */
    <T> T bound(Connection connection, Supplier<T> work) {
        Connection previous = boundToThread.get();
        boundToThread.set(connection);
        try {
            return work.get();
        } finally {
            // set, not remove() (see Calls.run): the entry stays, its value the previous connection or null
            boundToThread.set(previous);
        }
    }

    /** The transaction session the current thread is running {@code work} in, or null. */
    Session transactionOnThisThread() {
        return transactionOnThread.get();
    }

    void enterTransaction(Session session) {
        transactionOnThread.set(session);
    }

    void leaveTransaction() {
        transactionOnThread.remove();
    }

    int activeConnections() {
        return limit - permits.availablePermits();
    }
}
