package dev.sqlservice;

import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.exception.DataAccessException;

/**
 * What a call knows while it runs, and what it reports when it ends: its row limit, its statement timeout, the
 * statement it is running (seen through jOOQ's {@link ExecuteListener}), whether the caller cancelled it, and the
 * deadline and cancel of that statement.
 *
 * <p>Deadlines use the database's timer (millisecond precision, the same on every driver) instead of JDBC's
 * whole-second {@code setQueryTimeout}. The timer thread never blocks: a deadline hands the cancel to a new
 * virtual thread (pgjdbc opens a connection to send a cancel, MariaDB sends {@code KILL QUERY} over one) and
 * arms a second deadline, {@link Backend#CANCEL_GRACE} later. A statement still running then is given up on:
 * its connection is aborted (the blocked read fails at once) and evicted from the pool. The call therefore ends
 * within its timeout plus that grace, whatever the server or the network does, and reports what is known:
 * <ul>
 *   <li>the server confirmed the cancel (its cancel error): "timed out after N ms and was cancelled on the
 *       server", the server's SQLState (57014, 70100);</li>
 *   <li>the statement finished anyway: its result, as if there had been no deadline (it did take effect);</li>
 *   <li>the connection had to be aborted: outside a transaction, SQLState 08007 (the statement may have been
 *       applied); inside one, 08006 (the transaction is rolled back: it never committed).</li>
 * </ul>
 */
final class Calls implements ExecuteListener {

    private static final ThreadLocal<Call> CURRENT = new ThreadLocal<>();

    private final ScheduledExecutorService timer;
    private final Backend backend;
    /** Null when dead connections are not looked for (a data source handed in). */
    private final Liveness liveness;
    /** The database's connections: the liveness watch looks at the calls using them ({@link Connections.Lease#call}). */
    private final Connections connections;

    Calls(ScheduledExecutorService timer, Backend backend, Liveness liveness, Connections connections) {
        this.connections = connections;
        this.timer = timer;
        this.backend = backend;
        this.liveness = liveness;
        if (liveness != null) {
            timer.scheduleWithFixedDelay(this::watch, liveness.sweepNanos(), liveness.sweepNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** The state of one call. Every field is guarded by the call's monitor. */
    static final class Call {
        /**
         * When an asynchronous call was queued (0 once it took its connection, or for other calls): its first
         * connection is waited for only what is left of the acquisition timeout.
         */
        private long queuedAt;
        private Duration timeout;
        private int maxRows;
        /** The JDBC fetch size of the call's statements (0: the driver's default), for streams. */
        private int fetchSize;
        private boolean autoCommit = true;
        private Thread waitingForConnection;
        private Connections.Lease lease;
        /** What runs now: a JDBC statement, or an operation started by {@link #cancellable} (its identity). */
        private Object statement;
        /**
         * How many statements have started ({@link Calls#start}): a deadline, a cancel's grace abort or a liveness
         * probe acts only while the run it was armed for goes on, also when the next run executes the same JDBC
         * statement (every batch of a stream reads on from one).
         */
        private long starts;
        /**
         * The connection the running statement runs on: {@link #lease}, or one of the connections jOOQ's provider
         * lent for {@code Database.dsl()} work inside the call ({@link #borrowed}) when the statement is one of
         * theirs; null when none runs. Its deadline's cancel marks it, its grace abort and the liveness watch act on
         * it.
         */
        private Connections.Lease statementLease;
        /**
         * The connections jOOQ's provider lent for {@code Database.dsl()} work inside the call and has not had back
         * ({@link Connections#provider}: a statement, a lazy cursor, a jOOQ transaction of several statements); null
         * while there are none (the usual case, which then costs nothing).
         */
        private java.util.List<Connections.Lease> borrowed;
        /** The connection the last cancel of a running statement was sent for ({@link Calls#cancelOnServer}). */
        private Connections.Lease cancelSentTo;
        /** How to cancel the running operation on the server, when it is not a JDBC statement; else null. */
        private ServerCancel serverCancel;
        /** The running statement is reading on from its open result, not executing ({@link #reading}). */
        private boolean reading;
        private ScheduledFuture<?> deadline;
        private boolean cancelled;
        /**
         * The caller asked to cancel while a statement that commits by itself (outside a transaction) ran: the
         * cancel went to the server, and the outcome is the server's (confirmed, finished anyway, or unknown).
         */
        private boolean cancelRequested;
        /** A statement outside a transaction was sent: from then on only the server can tell what happened. */
        private boolean sentOutsideTransaction;
        /** The running statement is all-or-nothing ({@link Backend#isAtomic}). */
        private boolean atomic = true;
        /**
         * The connection of the run this one is nested in, while a nested run goes on (see {@link Calls#run}); null
         * outside nested runs. A nested run that records another connection starts it with none of that
         * connection's state (aborted, committing, statements sent outside a transaction).
         */
        private Connections.Lease enclosing;
        /** The SQL of the call's last statement as sent ({@link #executing}), for messages; null when unknown. */
        private String sql;
        private boolean committing;
        /** The running statement passed its deadline and a cancel was sent. */
        private boolean timedOut;
        /** The running statement's connection was aborted: the server did not confirm the cancel in time. */
        private boolean aborted;
        /** Why the connection was aborted, for the failure's message. */
        private String abortReason;
        /** When the running statement started, or its session was last found alive. */
        private long quietSince;
        private boolean probing;
        private Calls calls;
        /**
         * The call runs on a thread that waits for it in {@code CompletableFuture.join()}, which ignores
         * interrupts: an interrupt that does not come from a cancel is kept for later, not obeyed.
         */
        private boolean defersInterrupt;

        /** A call that starts waiting now, in an executor's queue. */
        static Call queued() {
            Call call = new Call();
            call.queuedAt = System.nanoTime();
            return call;
        }

        /**
         * Cancels the call, or asks the server to. Returns at once (the cancel is sent on another thread).
         * <ul>
         *   <li>Queued, waiting for a connection, or in a transaction that has not begun to commit: the call is
         *       cancelled (a connection wait ends, no further statement starts, the transaction rolls back).</li>
         *   <li>A statement outside a transaction was sent: it may already have been applied, so the call is not
         *       cancelled here; the cancel goes to the server, and the call ends with what the server says:
         *       {@link CancellationException} when it confirms, the statement's result when it finished first,
         *       SQLState 08007 when nobody can tell.</li>
         * </ul>
         *
         * @return whether the call is cancelled now (false when it is committing, or when only the server can
         *     tell)
         */
        synchronized boolean cancel() {
            return cancel(false);
        }

        /**
         * Cancels a stream's call: its reader wants no more rows, whatever a statement may have done, so the call
         * is cancelled even when a statement outside a transaction was sent.
         */
        synchronized boolean cancelStream() {
            return cancel(true);
        }

        private boolean cancel(boolean evenIfSent) {
            if (committing) {
                return false;
            }
            if (sentOutsideTransaction && !evenIfSent) {
                if (statement != null && !timedOut && !cancelRequested && !aborted) {
                    cancelRequested = true;
                    calls.cancelOnServer(this, statement, starts, "the call was cancelled");
                }
                return false;
            }
            cancelled = true;
            if (waitingForConnection != null) {
                waitingForConnection.interrupt();
            }
            if (statement != null && !timedOut) {
                calls.cancelOnServer(this, statement, starts, "the call was cancelled");
            }
            return true;
        }

        synchronized boolean isCancelled() {
            return cancelled;
        }

        /** The call is about to run on a thread that joins it: see {@link #defersInterrupt}. */
        synchronized void runsOnJoiningThread() {
            defersInterrupt = true;
        }

        /** The run {@code run} of {@code expected} passed its deadline: its cancel goes to the server. */
        private synchronized void expire(Object expected, long run) {
            if (statement == expected && starts == run && !timedOut && !aborted) {
                timedOut = true;
                calls.cancelOnServer(this, expected, run, "statement timed out after " + timeout.toMillis() + " ms");
            }
        }

        /**
         * Aborts the connection of run {@code run} of {@code expected}, if it still goes on. The call's own
         * connection: the call is aborted (its transaction lost, its next statements refused). The connection a
         * {@code Database.dsl()} statement borrowed: only that one (the statement fails; the call's connection is
         * intact).
         */
        private synchronized void abortIfStillRunning(Object expected, long run, String reason) {
            if (statement != expected || starts != run || aborted) {
                return;
            }
            if (statementLease != null && statementLease != lease) {
                statementLease.abort(reason);
                return;
            }
            aborted = true;
            abortReason = reason;
            if (lease != null) {
                lease.abort(reason);
            }
        }
    }

    /**
     * Sends the cancel on a new virtual thread (never on the timer or the caller), and gives the statement
     * {@link Backend#CANCEL_GRACE} to end before its connection is aborted. A cancel the server does not confirm
     * may still reach it later and stop the session's next statement: such a connection is never reused.
     */
    private void cancelOnServer(Call call, Object statement, long run, String why) {
        Connections.Lease on = call.statementLease != null ? call.statementLease : call.lease;
        call.cancelSentTo = on;
        if (on != null) {
            on.cancelSent();
        }
        boolean reading = call.reading;
        ServerCancel serverCancel = call.serverCancel;
        Thread.ofVirtual().name("sqlservice-cancel").start(() -> {
            try {
                if (serverCancel != null) {
                    serverCancel.cancel();
                } else if (reading) {
                    backend.cancelReading((Statement) statement);
                } else {
                    ((Statement) statement).cancel();
                }
            } catch (SQLException | RuntimeException ignored) {
                // The statement may have just ended, or the network is down: the grace deadline decides.
            }
        });
        String reason = why + "; the server did not confirm the cancel within " + Backend.CANCEL_GRACE.toMillis() + " ms";
        timer.schedule(() -> call.abortIfStillRunning(statement, run, reason), Backend.CANCEL_GRACE.toNanos(),
                TimeUnit.NANOSECONDS);
    }

    /**
     * Probes, on virtual threads, the sessions of statements that have been quiet for half the dead-connection
     * timeout; aborts the connection of a session found dead or not answering. Runs on the timer: never blocks.
     */
    private void watch() {
        connections.forEachLease(this::watch);
    }

    /** {@link #watch()} for the call using one lease, if it is running a statement on it. */
    private void watch(Connections.Lease using) {
        long now = System.nanoTime();
        Call call = using.call;
        if (call == null) {
            return;
        }
        Object statement;
        long run;
        Connections.Lease lease;
        synchronized (call) {
            if (call.calls != this || call.statement == null || call.probing || call.aborted
                    || call.statementLease != using || now - call.quietSince < liveness.quietNanos()) {
                return;
            }
            call.probing = true;
            statement = call.statement;
            run = call.starts;
            lease = call.statementLease;
        }
        Thread.ofVirtual().name("sqlservice-liveness").start(() -> {
            Liveness.Finding finding = liveness.probe(lease.connection());
            if (finding == Liveness.Finding.NOT_RUNNING) {
                // The server may have just finished and its last bytes be on the way: ask once more.
                java.util.concurrent.locks.LockSupport.parkNanos(liveness.recheckNanos());
                synchronized (call) {
                    if (call.statement != statement || call.starts != run) {
                        call.probing = false;
                        return;
                    }
                }
                finding = liveness.probe(lease.connection());
            }
            synchronized (call) {
                call.probing = false;
                if (finding == Liveness.Finding.RUNNING) {
                    call.quietSince = System.nanoTime();
                    return;
                }
            }
            call.abortIfStillRunning(statement, run, finding == Liveness.Finding.NO_ANSWER
                    ? "the connection showed no sign of life for " + liveness.timeout().toMillis()
                            + " ms and the server did not answer a probe (deadConnectionTimeout)"
                    : "the connection showed no sign of life for " + liveness.timeout().toMillis()
                            + " ms and the server no longer runs its statement (deadConnectionTimeout)");
        });
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
     * Marks the current thread as waiting for a connection, so that cancelling the call interrupts the wait.
     *
     * @throws CancellationException when the call was cancelled already
     */
    static void startWaitingForConnection() {
        Call call = CURRENT.get();
        if (call != null) {
            synchronized (call) {
                if (call.cancelled) {
                    throw new CancellationException("the call was cancelled while it waited for a connection");
                }
                call.waitingForConnection = Thread.currentThread();
            }
        }
    }

    /**
     * Ends the wait that {@link #startWaitingForConnection} began; after it, a cancel no longer interrupts.
     *
     * @return whether the call was cancelled meanwhile (the interrupt it caused, if any, is cleared)
     */
    static boolean stopWaitingForConnection() {
        Call call = CURRENT.get();
        if (call == null) {
            return false;
        }
        synchronized (call) {
            call.waitingForConnection = null;
            if (call.cancelled) {
                Thread.interrupted();
                return true;
            }
            return false;
        }
    }

    /**
     * Whether the current call's connection wait should go on after an interrupt of its thread: the call was not
     * cancelled (a cancel interrupts the wait too) and runs on a thread in {@code join()}.
     */
    static boolean defersInterrupt() {
        Call call = CURRENT.get();
        if (call == null) {
            return false;
        }
        synchronized (call) {
            return call.defersInterrupt && !call.cancelled;
        }
    }

    /**
     * Records the connection the current call's statements run on, so that a stuck one can be aborted and the
     * liveness watch finds it. A nested {@link #run} that records another records the enclosing one again when it
     * ends. Without a current call, does nothing.
     */
    static void using(Connections.Lease lease) {
        Call call = CURRENT.get();
        if (call == null) {
            return;
        }
        synchronized (call) {
            record(call, lease);
        }
        lease.call = call;
    }

    /**
     * jOOQ's connection provider lent {@code lease} for {@code Database.dsl()} work (not the call's own connection)
     * while the current call runs: until it is given back ({@link #returnedAfterStatement}), the statements made on
     * it run on it ({@link Call#borrowed}), so their deadlines, grace aborts and the liveness watch act on it, never
     * on the call's connection. Without a current call, does nothing.
     */
    static void borrowedForStatement(Connections.Lease lease) {
        Call call = CURRENT.get();
        if (call != null) {
            synchronized (call) {
                if (call.borrowed == null) {
                    call.borrowed = new java.util.ArrayList<>(2);
                }
                call.borrowed.add(lease);
            }
            lease.call = call;
        }
    }

    /**
     * The provider has {@code lease} back ({@link #borrowedForStatement}), on whatever thread (a lazy cursor may be
     * closed on another): the call it was lent in no longer counts it.
     */
    static void returnedAfterStatement(Connections.Lease lease) {
        Call call = lease.call;
        if (call != null) {
            synchronized (call) {
                if (call.borrowed != null) {
                    call.borrowed.remove(lease);
                }
            }
            lease.call = null;
        }
    }

    /**
     * The connection {@code statement} runs on, for the current call (holding its monitor): one the provider lent
     * inside the call when the statement runs on it, otherwise the call's own. The connection jOOQ executes on
     * ({@code execution}'s, through jOOQ's own wrappers: each {@code DefaultConnection}'s delegate, layer by layer)
     * is compared first, then the statement's {@code getConnection()}: either may be a wrapper of another layer (jOOQ's
     * batches and static statements hand out jOOQ's connection, a user's proxy data source its target's).
     */
    private static Connections.Lease leaseOf(Call call, Object statement, ExecuteContext execution) {
        if (call.borrowed == null || call.borrowed.isEmpty()) {
            return call.lease;
        }
        if (execution != null) {
            java.sql.Connection layer;
            try {
                layer = execution.connection();
            } catch (RuntimeException e) {
                layer = null; // matched by the statement's connection below
            }
            for (int depth = 0; layer != null && depth < 8; depth++) {
                Connections.Lease lent = lentOn(call, layer);
                if (lent != null) {
                    return lent;
                }
                layer = layer instanceof org.jooq.tools.jdbc.DefaultConnection jooq ? jooq.getDelegate() : null;
            }
        }
        if (statement instanceof Statement jdbc) {
            try {
                Connections.Lease lent = lentOn(call, jdbc.getConnection());
                if (lent != null) {
                    return lent;
                }
            } catch (SQLException | RuntimeException e) {
                // a closed statement: the call's own connection, as before
            }
        }
        return call.lease;
    }

    private static Connections.Lease lentOn(Call call, java.sql.Connection connection) {
        for (Connections.Lease lent : call.borrowed) {
            if (lent.connection() == connection) {
                return lent;
            }
        }
        return null;
    }

    /**
     * Records {@code lease} as the call's connection (holding the call's monitor). A nested run that switches
     * away from the enclosing connection takes none of that connection's state: its own connection's abort
     * only (Calls.run puts the enclosing state back when the nested run ends).
     */
    private static void record(Call call, Connections.Lease lease) {
        if (call.enclosing != null && lease != call.enclosing && call.lease == call.enclosing) {
            call.aborted = lease.isAborted();
            call.abortReason = call.aborted ? abortReasonOf(lease) : null;
            call.committing = false;
            call.sentOutsideTransaction = false;
            call.cancelRequested = false;
        }
        call.lease = lease;
    }

    private static String abortReasonOf(Connections.Lease lease) {
        String reason = lease.abortReason();
        return reason != null ? reason : "its connection was aborted";
    }

    /**
     * Lets the current call's transaction commit, unless the call was cancelled; from then on a cancel comes too
     * late and is refused.
     *
     * @throws CancellationException when the call was cancelled: the caller rolls back instead
     */
    static void beginCommit() {
        Call call = CURRENT.get();
        if (call != null) {
            synchronized (call) {
                if (call.cancelled) {
                    throw new CancellationException("the call was cancelled before its transaction committed");
                }
                call.committing = true;
            }
        }
    }

    /** Whether the current call's connection was aborted (its transaction is then lost). */
    static boolean connectionAborted() {
        Call call = CURRENT.get();
        if (call == null) {
            return false;
        }
        synchronized (call) {
            return call.aborted;
        }
    }

    /**
     * Runs {@code work} as (part of) the current call, with this statement timeout and row limit for its
     * statements; a nested run (a transaction's statements) keeps the outer call, so cancelling the transaction
     * reaches the statement running inside it, and restores the outer timeout and limit afterwards.
     *
     * @param call the call, for the outermost run of an asynchronous call; null otherwise
     * @param maxRows the most rows a statement reads (JDBC {@code maxRows}); 0 for no limit
     * @param autoCommit whether each statement commits on its own (no transaction), so an aborted statement's
     *     outcome is unknown
     */
    static <T> T run(Call call, Duration timeout, int maxRows, boolean autoCommit, Supplier<T> work) {
        return run(call, timeout, maxRows, 0, autoCommit, work);
    }

    /**
     * {@link #run(Call, Duration, int, boolean, Supplier)} whose statements also get this JDBC fetch size (0: the
     * driver's default), restored afterwards like the other settings.
     */
    static <T> T run(Call call, Duration timeout, int maxRows, int fetchSize, boolean autoCommit, Supplier<T> work) {
        Call outer = CURRENT.get();
        Call current = call != null ? call : outer != null ? outer : new Call();
        // Nested in the same call (a call made inside a stream's forEach action, a transaction's statements, a
        // stream opened in a transaction): what the run does to another connection must not stay on the call.
        boolean nested = current == outer;
        Duration previousTimeout;
        int previousMaxRows;
        int previousFetchSize;
        boolean previousAutoCommit;
        Connections.Lease previousLease;
        boolean previousCommitting;
        boolean previousAborted;
        String previousAbortReason;
        boolean previousSentOutside;
        boolean previousCancelRequested;
        Connections.Lease previousEnclosing;
        synchronized (current) {
            previousTimeout = current.timeout;
            previousMaxRows = current.maxRows;
            previousFetchSize = current.fetchSize;
            previousAutoCommit = current.autoCommit;
            previousLease = current.lease;
            previousCommitting = current.committing;
            previousAborted = current.aborted;
            previousAbortReason = current.abortReason;
            previousSentOutside = current.sentOutsideTransaction;
            previousCancelRequested = current.cancelRequested;
            previousEnclosing = current.enclosing;
            if (nested && previousLease != null) {
                current.enclosing = previousLease;
            }
            current.timeout = timeout;
            current.maxRows = maxRows;
            current.fetchSize = fetchSize;
            current.autoCommit = autoCommit;
        }
        CURRENT.set(current);
        try {
            return translate(current, work);
        } finally {
            boolean restoreLease;
            synchronized (current) {
                current.timeout = previousTimeout;
                current.maxRows = previousMaxRows;
                current.fetchSize = previousFetchSize;
                current.autoCommit = previousAutoCommit;
                // A nested run that took a connection of its own (another call's work, a stream, a transaction
                // of its own, on this database or another) leaves the enclosing call as it found it: pointing at
                // the enclosing connection (for its aborts and the liveness watch), and neither committing nor
                // aborted because of the other connection. A nested run on the same connection (a transaction's
                // statement) keeps what happened to it: that connection is the enclosing one.
                // (Only when the enclosing run had a connection of its own: a run nested directly in an
                // asynchronous call's stage, before any connection, is the stage's own work, and what it did, a
                // commit above all, is the call's.)
                restoreLease = nested && previousLease != null && current.lease != previousLease;
                if (restoreLease) {
                    current.lease = previousLease;
                    current.committing = previousCommitting;
                    current.aborted = previousAborted;
                    current.abortReason = previousAbortReason;
                    current.sentOutsideTransaction = previousSentOutside;
                    current.cancelRequested = previousCancelRequested;
                    if (!previousAborted && previousLease.isAborted()) {
                        // the enclosing connection itself was aborted meanwhile (a statement of the enclosing
                        // transaction run inside the nested one): that stays
                        current.aborted = true;
                        current.abortReason = abortReasonOf(previousLease);
                    }
                }
                current.enclosing = previousEnclosing;
            }
            if (restoreLease && previousLease != null) {
                previousLease.call = current;
            }
            // set, not remove(): a thread that makes one call after another (a platform thread of a pool) keeps
            // its entry, instead of the thread-local map removing and creating it again on every call
            CURRENT.set(outer);
        }
    }

    private static <T> T translate(Call call, Supplier<T> work) {
        try {
            return work.get();
        } catch (CallFailure e) {
            throw e;
        } catch (DataAccessException e) {
            boolean timedOut;
            boolean aborted;
            String abortReason;
            boolean cancelled;
            boolean autoCommit;
            Duration timeout;
            Calls calls;
            boolean atomic;
            boolean cancelRequested;
            synchronized (call) {
                timedOut = call.timedOut;
                aborted = call.aborted;
                abortReason = call.abortReason;
                cancelled = call.cancelled;
                autoCommit = call.autoCommit;
                timeout = call.timeout;
                calls = call.calls;
                atomic = call.atomic || !call.autoCommit;
                cancelRequested = call.cancelRequested;
                call.timedOut = false;
            }
            boolean confirmed = calls != null && calls.backend.isCancelConfirmation(e);
            if (confirmed && !atomic && (timedOut || cancelRequested) && !aborted) {
                String message = (timedOut ? "statement timed out after " + timeout.toMillis() + " ms" : "the call was"
                        + " cancelled") + " and the server stopped it, but a procedure may have committed part of its"
                        + " work before: it may have been applied (SQLState 08007); retry only what is safe to repeat";
                throw new CallFailure(message, new SQLTimeoutException(message, "08007", 0, e));
            }
            if (cancelled || cancelRequested && confirmed && !aborted) {
                CancellationException cancellation = new CancellationException(cancelled ? "the call was cancelled"
                        : "the call was cancelled on the server, before its statement took effect");
                cancellation.initCause(e);
                throw cancellation;
            }
            if (aborted) {
                throw abortedFailure(e, abortReason, autoCommit);
            }
            if (timedOut && confirmed) {
                synchronized (call) {
                    Connections.Lease confirmedOn = call.cancelSentTo != null ? call.cancelSentTo : call.lease;
                    if (confirmedOn != null) {
                        confirmedOn.cancelConfirmed();
                    }
                }
                SQLException cause = (SQLException) e.getCause();
                String message = "statement timed out after " + timeout.toMillis() + " ms and was cancelled on the server";
                throw new CallFailure(message,
                        new SQLTimeoutException(message, cause.getSQLState(), cause.getErrorCode(), e));
            }
            throw connectionLoss(e, autoCommit);
        }
    }

    private static CallFailure abortedFailure(DataAccessException e, String reason, boolean autoCommit) {
        String why = reason + ", so its connection was aborted";
        String message = autoCommit
                ? why + ": the statement may have been applied (SQLState 08007); retry only what is safe to repeat"
                : why + ": the transaction was rolled back (it never committed)";
        return new CallFailure(message, autoCommit
                ? new SQLTimeoutException(message, "08007", 0, e)
                : new java.sql.SQLNonTransientConnectionException(message, "08006", e));
    }

    /**
     * A failure of the connection while a statement ran. A server shutting down ends its sessions with SQLState
     * 57P01-57P03 (PostgreSQL) or error 1927 (MariaDB) ({@link Backend#isServerShutdown}, asked of every backend:
     * a call that failed before its first statement does not know its database's): the statement was stopped,
     * nothing of it committed, and it is reported as a lost connection (08006). A connection that broke without the server saying so (class
     * 08, an I/O error) leaves an autocommit statement's outcome unknown: 08007, "may have been applied".
     */
    static DataAccessException connectionLoss(DataAccessException e, boolean autoCommit) {
        String state = e.sqlState();
        int code = e.getCause() instanceof SQLException s ? s.getErrorCode() : 0;
        if (state != null && Backend.supported().stream().anyMatch(backend -> backend.isServerShutdown(state, code))) {
            String message = "connection to the database lost (" + state + "): " + e.getMessage();
            return new CallFailure(message, new java.sql.SQLNonTransientConnectionException(message, "08006", e));
        }
        if (autoCommit && state != null && state.startsWith("08") && !state.equals("08001") && !state.equals("08004")) {
            String message = "the connection failed while the statement ran (" + state + "): the statement may have"
                    + " been applied (SQLState 08007); retry only what is safe to repeat: " + e.getMessage();
            return new CallFailure(message, new java.sql.SQLTransientConnectionException(message, "08007", e));
        }
        return e;
    }

    /**
     * How a database's jOOQ configuration holds its {@code Calls}: a provider of this type is the library's own, which
     * is how {@link Database#readsDirectly(org.jooq.Configuration)} tells it from listeners of the application's.
     */
    record Provider(Calls calls) implements org.jooq.ExecuteListenerProvider {
        @Override
        public ExecuteListener provide() {
            return calls;
        }
    }

    /** A failure this class has already explained: an enclosing run passes it on unchanged. */
    static final class CallFailure extends DataAccessException {
        CallFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The SQL of the direct run ({@link PreparedQuery.TypedQuery#fetch}) reading rows on this thread: jOOQ's cursor
     * over its result set knows no SQL, so its errors would say "SQL [null]" where jOOQ's execution names it.
     */
    private static final ThreadLocal<String> DIRECT_SQL = new ThreadLocal<>();

    /** Runs {@code read}, which reads a direct run's result set through jOOQ, with {@code sql} as its SQL. */
    static <T> T readingDirect(String sql, Supplier<T> read) {
        DIRECT_SQL.set(sql);
        try {
            return read.get();
        } finally {
            DIRECT_SQL.remove();
        }
    }

    @Override
    public void start(ExecuteContext ctx) {
        if (ctx.sql() == null && ctx.query() == null) {
            String sql = DIRECT_SQL.get();
            if (sql != null) {
                ctx.sql(sql);
            }
        }
    }

    @Override
    public void renderEnd(ExecuteContext ctx) {
        String sql = ctx.sql();
        if (sql != null) {
            Call call = CURRENT.get();
            int maxRows = 0;
            if (call != null) {
                synchronized (call) {
                    maxRows = call.maxRows;
                }
            }
            String sent = backend.statementSql(sql, maxRows);
            if (sent != sql) {
                ctx.sql(sent);
            }
        }
    }

    @Override
    public void executeStart(ExecuteContext ctx) {
        Call call = CURRENT.get();
        Statement statement = ctx.statement();
        if (ctx.data(UpsertStatements.DirectBinds.KEY) instanceof UpsertStatements.DirectBinds values
                && statement instanceof java.sql.PreparedStatement prepared) {
            try {
                values.set(prepared);
            } catch (SQLException e) {
                throw new DataAccessException("Cannot bind the values of a statement: " + e.getMessage(), e);
            }
        }
        if (statement != null) {
            executing(statement, ctx, ctx.sql());
        }
    }

    /**
     * The statement the current call is about to execute, as its running statement: jOOQ's ({@link #executeStart})
     * or one the library executes itself (a prepared query's direct run). Sets the call's row limit and fetch
     * size on it, arms its deadline and shows it to the liveness watch. Without a current call, does nothing.
     *
     * @param sql the SQL as sent, or null when unknown (then taken as atomic)
     * @throws CancellationException when the call was cancelled before the statement started
     * @throws DataAccessException when the call's connection was aborted, or the statement refused its limits
     */
    void executing(Statement statement, String sql) {
        executing(statement, null, sql);
    }

    /**
     * {@link #executing(Statement, String)} of a statement jOOQ executes: {@code execution}'s connection tells which
     * connection it runs on when the call has lent ones ({@link Call#borrowed}).
     */
    private void executing(Statement statement, ExecuteContext execution, String sql) {
        Call call = CURRENT.get();
        if (call == null) {
            return;
        }
        synchronized (call) {
            try {
                if (call.maxRows > 0) {
                    statement.setMaxRows(call.maxRows);
                }
                if (call.fetchSize > 0) {
                    statement.setFetchSize(call.fetchSize);
                }
            } catch (SQLException e) {
                throw new DataAccessException("Cannot limit the rows of a statement: " + e.getMessage(), e);
            }
            call.atomic = sql == null || backend.isAtomic(sql);
            call.sql = sql;
            start(call, statement, execution);
        }
    }

    /**
     * Marks {@code statement} as the call's running statement: refused when the call was cancelled or its
     * connection aborted; otherwise its deadline is armed and the liveness watch sees it. Holds the call's monitor.
     */
    private void start(Call call, Object statement) {
        start(call, statement, null);
    }

    /** {@link #start(Call, Object)} of a statement jOOQ executes in {@code execution} (null: another). */
    private void start(Call call, Object statement, ExecuteContext execution) {
        if (call.cancelled) {
            throw new CancellationException("the call was cancelled before its statement started");
        }
        if (call.aborted) {
            throw new DataAccessException("the connection of this call was aborted",
                    new java.sql.SQLNonTransientConnectionException("the connection of this call was aborted", "08003"));
        }
        call.calls = this;
        call.statement = statement;
        long run = ++call.starts;
        call.statementLease = leaseOf(call, statement, execution);
        call.cancelSentTo = null;
        call.timedOut = false;
        call.sentOutsideTransaction |= call.autoCommit;
        if (liveness != null) {
            call.quietSince = System.nanoTime();
        }
        if (call.timeout != null) {
            call.deadline = timer.schedule(() -> call.expire(statement, run), call.timeout.toNanos(),
                    TimeUnit.NANOSECONDS);
        }

    }

    /**
     * Runs {@code read}, which reads on from {@code statement}'s open result set (a stream's next rows, or the
     * discarding of the rest when it closes), as the current call's running statement, like an execution: the
     * statement timeout counts from here, cancelling the call cancels it on the server, and the liveness watch
     * sees it, all of them those of {@code calls}, the stream's database; the call is recorded as using
     * {@code lease} (the statement's connection; null inside a transaction, whose connection it already records).
     *
     * @throws CancellationException when the call was cancelled
     */
    static <T> T reading(Calls calls, Connections.Lease lease, Statement statement, Supplier<T> read) {
        Call call = CURRENT.get();
        synchronized (call) {
            if (lease != null) {
                // the statement's own connection (the enclosing call's, restored after the previous batch)
                record(call, lease);
            }
            // the stream's database, whatever the call's last statement ran on (a forEach action's call of another)
            calls.start(call, statement);
            call.reading = true;
        }
        if (lease != null) {
            lease.call = call;
        }
        try {
            return read.get();
        } finally {
            finish();
        }
    }

    /** Sends the cancel of an operation that is not a JDBC statement (pgjdbc's {@code cancelQuery()} for a COPY). */
    @FunctionalInterface
    interface ServerCancel {
        void cancel() throws SQLException;
    }

    /**
     * Runs {@code work}, an operation on the current call's connection that jOOQ does not execute (a COPY), as the
     * call's running statement: the statement timeout counts from here, cancelling the call or its deadline sends
     * {@code cancel} (on another thread) and aborts the connection if the operation has not ended
     * {@link Backend#CANCEL_GRACE} later, and the liveness watch sees it. {@code work} reports database errors as
     * {@link DataAccessException}s whose cause is the driver's {@link SQLException} (its SQLState kept), so that the
     * enclosing {@link #run} explains them as it does a statement's. Without a current call that has executed a
     * statement through jOOQ (no {@link Calls} listener to arm deadlines), {@code work} simply runs.
     *
     * @throws CancellationException when the call was cancelled before or while {@code work} ran
     */
    static <T> T cancellable(ServerCancel cancel, Supplier<T> work) {
        Call call = CURRENT.get();
        if (call == null) {
            return work.get();
        }
        synchronized (call) {
            if (call.calls == null) {
                if (call.cancelled) {
                    throw new CancellationException("the call was cancelled before its statement started");
                }
            } else {
                call.calls.start(call, new Object());
                call.serverCancel = cancel;
                call.atomic = true;
            }
        }
        try {
            T result = work.get();
            synchronized (call) {
                if (call.cancelled) {
                    throw new CancellationException("the call was cancelled");
                }
            }
            return result;
        } finally {
            finish();
        }
    }

    /**
     * The SQL of the current call's last statement as it was sent (jOOQ's {@code ExecuteContext.sql()}), for the
     * message of a failure to read its rows; null when there is no such call or statement.
     */
    static String sentSql() {
        Call call = CURRENT.get();
        if (call == null) {
            return null;
        }
        synchronized (call) {
            return call.sql;
        }
    }

    /** The call the current thread runs, or null. */
    static Call current() {
        return CURRENT.get();
    }

    @Override
    public void executeEnd(ExecuteContext ctx) {
        executed(ctx.resultSet() != null);
    }

    /**
     * The current call's running statement has returned ({@link #executeEnd}, or a direct run): disarms its
     * deadline, then reports a cancel or deadline that hit it although it returned normally.
     *
     * @param resultSet whether it returned a result set
     * @throws CancellationException when the call was cancelled meanwhile
     * @throws CallFailure when MariaDB interrupted the query and returned a meaningless result
     */
    void executed(boolean resultSet) {
        Call call = finish();
        if (call == null) {
            return;
        }
        synchronized (call) {
            if (call.cancelled) {
                throw new CancellationException("the call was cancelled");
            }
            if (call.cancelRequested && !call.timedOut && !call.aborted && backend.endsInterruptedQueriesNormally()
                    && resultSet) {
                throw new CancellationException("the call was cancelled: the server interrupted its query (KILL QUERY),"
                        + " whose result is discarded");
            }
            if (call.timedOut && !call.aborted && backend.endsInterruptedQueriesNormally() && resultSet) {
                // MariaDB ends some interrupted queries (BENCHMARK) with a normal, meaningless result; a write it
                // interrupts fails with 1317, so a write that ended normally did take effect and is reported so.
                String message = "statement timed out after " + call.timeout.toMillis() + " ms and was interrupted on"
                        + " the server (KILL QUERY); its result is discarded";
                throw new CallFailure(message, new SQLTimeoutException(message, "70100", 1317));
            }
        }
    }

    @Override
    public void exception(ExecuteContext ctx) {
        finish();
    }

    /** The current call's running statement failed, or never started: disarms its deadline ({@link #exception}). */
    static void failed() {
        finish();
    }

    private static Call finish() {
        Call call = CURRENT.get();
        if (call == null) {
            return null;
        }
        synchronized (call) {
            call.statement = null;
            call.statementLease = null;
            call.serverCancel = null;
            call.reading = false;
            if (call.deadline != null) {
                call.deadline.cancel(false);
                call.deadline = null;
            }
        }
        return call;
    }
}
