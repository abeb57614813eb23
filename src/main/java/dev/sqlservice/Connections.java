package dev.sqlservice;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
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
            acquired = permits.tryAcquire(acquisitionTimeout.toNanos(), TimeUnit.NANOSECONDS);
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
