package dev.sqlservice;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jooq.ConnectionProvider;
import org.jooq.exception.DataAccessException;

/**
 * Hands out connections, at most {@code limit} at a time, and knows which transaction the current thread is in.
 *
 * <p>Callers queue on a fair semaphore rather than inside the pool: thousands of waiting virtual threads then
 * cost nothing, are served in arrival order, and each waits at most {@code acquisitionTimeout}.
 */
final class Connections {

    private final DataSource dataSource;
    private final Semaphore permits;
    private final int limit;
    private final Duration acquisitionTimeout;
    private final String description;
    private final ThreadLocal<Session> transactionOnThread = new ThreadLocal<>();
    private final ThreadLocal<Connection> boundToThread = new ThreadLocal<>();

    private final Map<Connection, Lease> borrowedOutsideCalls = Collections.synchronizedMap(new IdentityHashMap<>());

    /**
     * jOOQ's way to our connections, shared by every call (so a call derives no configuration): the connection
     * of the call running on this thread; outside any call (say, {@code store()} on a record a call returned),
     * a lease taken like any call's (same permits, same timeout) for the statement and given back after it.
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
            return lease.connection();
        }

        @Override
        public void release(Connection connection) {
            Lease lease = borrowedOutsideCalls.remove(connection);
            if (lease != null) {
                lease.close();
            }
        }
    };

    Connections(DataSource dataSource, int limit, Duration acquisitionTimeout, String description) {
        this.dataSource = dataSource;
        this.limit = limit;
        this.permits = new Semaphore(limit, true);
        this.acquisitionTimeout = acquisitionTimeout;
        this.description = description;
    }

    /** A borrowed connection; closing the lease returns the connection to the pool and frees its permit. */
    record Lease(Connection connection, Semaphore permits) implements AutoCloseable {
        @Override
        public void close() {
            try {
                connection.close();
            } catch (SQLException e) {
                throw new DataAccessException("Cannot return a connection to the pool: " + e.getMessage(), e);
            } finally {
                permits.release();
            }
        }
    }

    Lease acquire() {
        boolean acquired;
        try {
            acquired = permits.tryAcquire(Calls.remainingWaitNanos(acquisitionTimeout), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataAccessException("Interrupted while waiting for a connection to " + description, e);
        }
        if (!acquired) {
            throw exhausted();
        }
        try {
            return new Lease(dataSource.getConnection(), permits);
        } catch (SQLException e) {
            permits.release();
            throw new DataAccessException("Cannot get a connection to " + description + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            permits.release();
            throw e;
        }
    }

    /** The failure of a call that waited {@code acquisitionTimeout} for a connection. */
    DataAccessException exhausted() {
        String message = "No connection to " + description + " became free within " + acquisitionTimeout.toMillis()
                + " ms (all " + limit + " in use); raise poolSize or acquisitionTimeout, or shorten transactions";
        return new DataAccessException(message, new SQLTransientConnectionException(message, "08001"));
    }

    /** Runs {@code work} with {@code connection} as the one {@link #provider} hands out on this thread. */
    <T> T bound(Connection connection, Supplier<T> work) {
        Connection previous = boundToThread.get();
        boundToThread.set(connection);
        try {
            return work.get();
        } finally {
            if (previous == null) {
                boundToThread.remove();
            } else {
                boundToThread.set(previous);
            }
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
