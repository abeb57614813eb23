package dev.sqlservice;

import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.exception.DataAccessException;

/**
 * Statement timeouts and cancellation: one {@link Call} per session call, known to the thread running it, sees
 * each JDBC statement start and end (through jOOQ's {@link ExecuteListener}), and cancels it on the server with
 * {@link Statement#cancel()} when its timeout expires or its future is cancelled. Timeouts use our own timer
 * (millisecond precision, the same on every driver) instead of JDBC's whole-second {@code setQueryTimeout}.
 */
final class Calls implements ExecuteListener {

    private static final ThreadLocal<Call> CURRENT = new ThreadLocal<>();

    private final ScheduledExecutorService timer;

    Calls(ScheduledExecutorService timer) {
        this.timer = timer;
    }

    /** The state of one call: the statement it is running, and whether it was cancelled or timed out. */
    static final class Call {
        /**
         * When an asynchronous call was queued (0 once it took its connection, or for other calls): its first
         * connection is waited for only what is left of the acquisition timeout.
         */
        private long queuedAt;
        private Statement statement;
        private ScheduledFuture<?> deadline;
        private boolean cancelled;
        private boolean timedOut;
        private Duration timeout;

        /** A call that starts waiting now, in an executor's queue. */
        static Call queued() {
            Call call = new Call();
            call.queuedAt = System.nanoTime();
            return call;
        }

        /** Cancels the running statement, if any; a statement that has not started yet will not start. */
        synchronized void cancel() {
            cancelled = true;
            cancelStatement();
        }

        synchronized boolean isCancelled() {
            return cancelled;
        }

        private synchronized void expire(Statement expected) {
            if (statement == expected) {
                timedOut = true;
                cancelStatement();
            }
        }

        private void cancelStatement() {
            if (statement != null) {
                try {
                    statement.cancel();
                } catch (SQLException ignored) {
                    // The statement may have just finished; its own outcome is reported to the caller.
                }
            }
        }
    }

    /**
     * How long the current call may wait for a connection: for an asynchronous call's first connection,
     * {@code limit} minus the time it spent queued; otherwise {@code limit}.
     */
    static long remainingWaitNanos(Duration limit) {
        Call call = CURRENT.get();
        long total = limit.toNanos();
        if (call == null) {
            return total;
        }
        synchronized (call) {
            long queuedAt = call.queuedAt;
            call.queuedAt = 0;
            return queuedAt == 0 ? total : Math.max(0, total - (System.nanoTime() - queuedAt));
        }
    }

    /**
     * Runs {@code work} as (part of) the current call with this statement timeout; a nested run keeps the
     * outer call (so cancelling a transaction reaches the statement running inside it) and sets its own timeout.
     */
    static <T> T run(Call call, Duration timeout, java.util.function.Supplier<T> work) {
        Call outer = CURRENT.get();
        Call current = call != null ? call : outer != null ? outer : new Call();
        Duration previousTimeout;
        synchronized (current) {
            previousTimeout = current.timeout;
            current.timeout = timeout;
        }
        CURRENT.set(current);
        try {
            return translate(current, work);
        } finally {
            synchronized (current) {
                current.timeout = previousTimeout;
            }
            if (outer == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(outer);
            }
        }
    }

    private static <T> T translate(Call call, java.util.function.Supplier<T> work) {
        try {
            return work.get();
        } catch (DataAccessException e) {
            boolean timedOut;
            boolean cancelled;
            Duration timeout;
            synchronized (call) {
                timedOut = call.timedOut;
                cancelled = call.cancelled;
                timeout = call.timeout;
                call.timedOut = false;
            }
            if (timedOut) {
                SQLException cause = e.getCause() instanceof SQLException s ? s : null;
                String message = "statement timed out after " + timeout.toMillis() + " ms and was cancelled on the server";
                throw new DataAccessException(message, new SQLTimeoutException(message,
                        cause == null ? "57014" : cause.getSQLState(), cause == null ? 0 : cause.getErrorCode(), e));
            }
            if (cancelled) {
                CancellationException cancellation = new CancellationException("the call was cancelled");
                cancellation.initCause(e);
                throw cancellation;
            }
            throw connectionLoss(e);
        }
    }

    /**
     * A server shutting down ends its sessions with SQLState 57P01-57P03 (PostgreSQL) or error 1927 (MariaDB):
     * to the caller that is a lost connection, so it is reported as one (class 08), the original kept as cause.
     */
    static DataAccessException connectionLoss(DataAccessException e) {
        String state = e.sqlState();
        int code = e.getCause() instanceof SQLException s ? s.getErrorCode() : 0;
        if (state != null && (state.startsWith("57P0") || code == 1927)) {
            String message = "connection to the database lost (" + state + "): " + e.getMessage();
            return new DataAccessException(message, new java.sql.SQLNonTransientConnectionException(message, "08006", e));
        }
        return e;
    }

    @Override
    public void executeStart(ExecuteContext ctx) {
        Call call = CURRENT.get();
        if (call == null || ctx.statement() == null) {
            return;
        }
        Statement statement = ctx.statement();
        synchronized (call) {
            if (call.cancelled) {
                throw new CancellationException("the call was cancelled before its statement started");
            }
            call.statement = statement;
            call.timedOut = false;
            if (call.timeout != null) {
                call.deadline = timer.schedule(() -> call.expire(statement), call.timeout.toNanos(), TimeUnit.NANOSECONDS);
            }
        }
    }

    @Override
    public void executeEnd(ExecuteContext ctx) {
        Call call = finish();
        if (call != null) {
            synchronized (call) {
                // MariaDB ends some interrupted statements (SLEEP, BENCHMARK) with a normal, meaningless result.
                if (call.timedOut) {
                    throw new DataAccessException("statement interrupted",
                            new SQLException("Query execution was interrupted", "70100", 1317));
                }
                if (call.cancelled) {
                    throw new CancellationException("the call was cancelled");
                }
            }
        }
    }

    @Override
    public void exception(ExecuteContext ctx) {
        finish();
    }

    private static Call finish() {
        Call call = CURRENT.get();
        if (call == null) {
            return null;
        }
        synchronized (call) {
            call.statement = null;
            if (call.deadline != null) {
                call.deadline.cancel(false);
                call.deadline = null;
            }
        }
        return call;
    }
}
