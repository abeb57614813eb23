package dev.sqlservice;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Tells a silently dead connection from a long query. Neither the server nor the network says anything while a
 * statement runs, and a socket timeout would fail legitimate long queries; TCP keepalive is on, but a hung
 * middlebox answers it. So a statement that has run for {@code deadConnectionTimeout / 2} is checked from the
 * outside: a new connection (its own connect, login and read limits) asks the server whether the statement's
 * session is still there. A probe that gets no answer within {@code deadConnectionTimeout / 4}, or finds the
 * session gone, means the connection is dead: it is aborted, so the call fails within
 * {@code deadConnectionTimeout}. A live session restarts the clock.
 */
final class Liveness {

    private final UrlDataSource probes;
    private final Backend backend;
    private final Duration timeout;

    Liveness(UrlDataSource probes, Backend backend, Duration timeout) {
        this.probes = probes;
        this.backend = backend;
        this.timeout = timeout;
    }

    /** How long a statement runs before it is probed. */
    long quietNanos() {
        return timeout.toNanos() / 2;
    }

    /** How often running statements are looked at. */
    long sweepNanos() {
        return Math.max(TimeUnit.MILLISECONDS.toNanos(50), timeout.toNanos() / 8);
    }

    /** How long a probe may take before the connection counts as dead. */
    Duration probeBound() {
        return timeout.dividedBy(4);
    }

    Duration timeout() {
        return timeout;
    }

    /** What a probe found. */
    enum Finding {
        /** The session is running a statement: the connection is alive (or nobody can tell). */
        RUNNING,
        /** The server answered that the session is gone or idle while our statement is outstanding. */
        NOT_RUNNING,
        /** No answer within {@link #probeBound()}: the server cannot be reached. */
        NO_ANSWER
    }

    /**
     * Asks the server, over a new connection, whether the session of {@code connection} is running a statement.
     * Blocks the calling (virtual) thread for {@link #probeBound()} at most.
     */
    Finding probe(Connection connection) {
        long id;
        try {
            id = backend.sessionId(connection);
        } catch (Exception e) {
            return Finding.RUNNING; // a driver whose session id cannot be read: nothing to judge by
        }
        CompletableFuture<Finding> answer = new CompletableFuture<>();
        Thread.ofVirtual().name("sqlservice-liveness-probe").start(() -> {
            try (Connection probe = probes.getConnection();
                    PreparedStatement s = probe.prepareStatement(backend.sessionAliveSql())) {
                s.setLong(1, id);
                try (ResultSet r = s.executeQuery()) {
                    answer.complete(r.next() ? Finding.RUNNING : Finding.NOT_RUNNING);
                }
            } catch (Throwable t) {
                answer.complete(Finding.NO_ANSWER);
            }
        });
        try {
            return answer.get(probeBound().toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            return Finding.NO_ANSWER;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Finding.RUNNING;
        }
    }

    /** How long to wait before asking again when a session was found idle (its last bytes may be on the way). */
    long recheckNanos() {
        return Math.min(TimeUnit.MILLISECONDS.toNanos(200), timeout.toNanos() / 8);
    }

    /** Closes the probes' data source: no probe connection opens after the database closed. */
    void close() {
        probes.close();
    }
}
