package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.sqlservice.testing.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.Test;

/**
 * Review of "join helping" (a platform thread joining a query's stage runs the call itself): each test is named
 * after a defect and fails while the defect is there. To put a call on the joining thread deterministically, the
 * virtual-thread scheduler's carriers are kept busy for a moment ({@link #carriersBusy}), so that no worker can
 * take the call before the joining thread does; they are freed as soon as the call holds its connection. Each
 * test first runs the same scenario joined from a virtual thread (which never helps: the worker path) and asserts
 * that it behaves as documented there.
 */
@ExampleDatabase
class JoinHelpingReviewTest {

    /** A statement that runs for {@code seconds} on the test's backend. */
    private static String sleep(TestDatabase test, double seconds) {
        return test.dialect().family() == SQLDialect.POSTGRES
                ? "select pg_sleep(" + seconds + ")"
                : "select sleep(" + seconds + ")";
    }

    /**
     * Keeps every carrier of the virtual-thread scheduler spinning until closed, so that no virtual thread (a
     * dispatcher worker in particular) runs meanwhile; platform threads run on. Checks that a virtual thread
     * started meanwhile does not run.
     */
    static AutoCloseable carriersBusy() throws Exception {
        int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism",
                Runtime.getRuntime().availableProcessors());
        var spinning = new java.util.concurrent.atomic.AtomicBoolean(true);
        CountDownLatch started = new CountDownLatch(carriers);
        List<Thread> spinners = new ArrayList<>();
        for (int i = 0; i < carriers; i++) {
            spinners.add(Thread.ofVirtual().name("review-spinner").start(() -> {
                started.countDown();
                while (spinning.get()) {
                    Thread.onSpinWait();
                }
            }));
        }
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        CountDownLatch probe = new CountDownLatch(1);
        Thread.ofVirtual().start(probe::countDown);
        boolean probeRan = probe.await(100, TimeUnit.MILLISECONDS);
        AutoCloseable release = () -> {
            spinning.set(false);
            for (Thread spinner : spinners) {
                spinner.join();
            }
        };
        if (probeRan) {
            release.close();
        }
        assumeThat(probeRan).as("the carriers of virtual threads could be kept busy").isFalse();
        return release;
    }

    /** Frees the carriers once {@code db} has a connection borrowed (the joined call started), on a platform thread. */
    private static Thread freeCarriersWhenBorrowed(Database db, AutoCloseable busy) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (db.activeConnections() == 0 && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                busy.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Runs {@code join} on a new virtual thread (whose join never helps: the worker path) and returns its outcome. */
    private static <T> T onVirtualThread(Supplier<T> join) throws Exception {
        AtomicReference<T> value = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = Thread.ofVirtual().start(() -> {
            try {
                value.set(join.get());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        assertThat(thread.join(Duration.ofSeconds(60))).isTrue();
        if (failure.get() != null) {
            throw new AssertionError("failed on the worker path", failure.get());
        }
        return value.get();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Database.close() does not wait for a call that runs on a joining thread
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Database.close() promises (Javadoc, README): "calls already running get up to acquisitionTimeout to finish
     * before the pool closes". Dispatcher.close() waits only for its worker places; a call a joining thread runs
     * holds none, so close() returns at once and aborts the call's connection mid-statement: the caller gets a
     * failure (SQLState 08007 "may have been applied", or a closed connection) for a statement that would have
     * finished.
     */
    @Test
    void close_does_not_wait_for_a_call_running_on_the_joining_thread(TestDatabase test) throws Exception {
        String sql = sleep(test, 1.5);
        // Worker path: the call survives a close() that comes while it runs.
        try (Database db = test.builder().poolSize(2).acquisitionTimeout(Duration.ofSeconds(10)).build()) {
            Thread closer = closeWhenBorrowed(db, null);
            Result<Record> result = onVirtualThread(() -> db.session().all(sql).toCompletableFuture().join());
            assertThat(result).hasSize(1);
            closer.join();
        }
        // Joining thread: the same call, the same close().
        try (Database db = test.builder().poolSize(2).acquisitionTimeout(Duration.ofSeconds(10)).build()) {
            AtomicReference<Long> closeMillis = new AtomicReference<>();
            AutoCloseable busy = carriersBusy();
            Thread closer = closeWhenBorrowed(db, busy, closeMillis);
            try {
                CompletableFuture<Result<Record>> call = db.session().all(sql).toCompletableFuture();
                Result<Record> result = call.join();
                assertThat(result).as("the running call's outcome after close()").hasSize(1);
            } finally {
                closer.join();
            }
            assertThat(closeMillis.get()).as("close() waited for the running call (ms)").isGreaterThan(800L);
        }
    }

    private static Thread closeWhenBorrowed(Database db, AutoCloseable busy) {
        return closeWhenBorrowed(db, busy, new AtomicReference<>());
    }

    /** Once a connection is borrowed (and {@code busy} freed), waits 300 ms, then closes {@code db}, timing it. */
    private static Thread closeWhenBorrowed(Database db, AutoCloseable busy, AtomicReference<Long> closeMillis) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (db.activeConnections() == 0 && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                if (busy != null) {
                    busy.close();
                }
                Thread.sleep(300);
                long start = System.nanoTime();
                db.close();
                closeMillis.set(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // orTimeout (or any completion from elsewhere) no longer ends a join()
    // ---------------------------------------------------------------------------------------------------------

    /**
     * The stage is a CompletableFuture: {@code orTimeout} returns the same object, and a {@code join()} on it
     * returns when the timeout fires (CompletableFuture's contract; the worker path keeps it). A joining thread
     * that runs the call itself is busy running the statement and cannot see the timeout: join() returns only
     * when the statement ends, however long that is, after the stage had long failed with the TimeoutException.
     */
    @Test
    void orTimeout_does_not_end_a_join_that_runs_the_call(TestDatabase test) throws Exception {
        String sql = sleep(test, 2.5);
        try (Database db = test.builder().poolSize(2).acquisitionTimeout(Duration.ofSeconds(10)).build()) {
            // Worker path: join() ends at the timeout.
            long workerMillis = onVirtualThread(() -> {
                long start = System.nanoTime();
                assertThatThrownBy(() -> db.session().all(sql).toCompletableFuture().orTimeout(200, TimeUnit.MILLISECONDS)
                        .join()).isInstanceOf(CompletionException.class).hasCauseInstanceOf(TimeoutException.class);
                return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            });
            assertThat(workerMillis).isLessThan(1000L);

            // Joining thread.
            AutoCloseable busy = carriersBusy();
            Thread freer = freeCarriersWhenBorrowed(db, busy);
            long start = System.nanoTime();
            try {
                CompletableFuture<Result<Record>> call =
                        db.session().all(sql).toCompletableFuture().orTimeout(200, TimeUnit.MILLISECONDS);
                assertThatThrownBy(call::join).isInstanceOf(CompletionException.class)
                        .hasCauseInstanceOf(TimeoutException.class);
            } finally {
                freer.join();
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(millis).as("join() of a stage with orTimeout(200 ms) returned after (ms)").isLessThan(1000L);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // A joining thread jumps the queue: arrival order is broken, even on a pool of one
    // ---------------------------------------------------------------------------------------------------------

    /**
     * With poolSize 1 the default executor has one worker, so calls run one after the other in arrival order
     * (Javadoc: "taking calls in arrival order", "it never jumps the queue"): an insert submitted before a select
     * is applied before the select runs. help() checks that the joined call is the head of the queue and that a
     * permit is free, but a call that a worker has just polled is no longer in the queue and has not taken its
     * permit yet: in that window the joining thread runs the later call first, and the select misses the insert
     * submitted before it. (Statistical: the window is a few microseconds wide; the loop sweeps it.)
     */
    @Test
    @org.junit.jupiter.api.Tag("slow")
    void a_joining_thread_runs_its_call_before_an_earlier_call_on_a_pool_of_one(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofSeconds(10)).build()) {
            AsyncSession session = db.session();
            int violations = 0;
            int iterations = 0;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            for (long id = 100_000; iterations < 20_000 && System.nanoTime() < until && violations == 0; id++, iterations++) {
                CompletableFuture<Integer> insert = session.execute(
                        "insert into users (id, name) values (:id, 'x')", Map.of("id", id)).toCompletableFuture();
                CompletableFuture<Optional<Record>> select = session.first(
                        "select id from users where id = :id", Map.of("id", id)).toCompletableFuture();
                long spin = System.nanoTime() + ThreadLocalRandom.current().nextLong(0, 400_000);
                while (System.nanoTime() < spin) {
                    Thread.onSpinWait();
                }
                Optional<Record> seen = select.join();
                assertThat(insert.join()).isEqualTo(1);
                if (seen.isEmpty()) {
                    violations++;
                }
            }
            db.dsl().deleteFrom(USERS).where(USERS.ID.ge(100_000L)).execute();
            assertThat(violations).as("selects (of %d) that ran before the insert submitted before them", iterations)
                    .isZero();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Documents (passes): an interrupt of a joining thread while it runs the statement itself
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Not covered by JoinHelpingTest, whose interrupt and cancel tests hold the only connection, so that the call
     * is never helped (help() wants a free connection) and runs on a worker: here the joining thread does run the
     * call, is interrupted during its statement, and still gets the result, with the interrupt kept for it.
     */
    @Test
    void an_interrupt_of_a_joining_thread_that_runs_the_statement_does_not_fail_it(TestDatabase test) throws Exception {
        String sql = sleep(test, 1.0);
        try (Database db = test.builder().poolSize(2).acquisitionTimeout(Duration.ofSeconds(10)).build()) {
            AutoCloseable busy = carriersBusy();
            Thread caller = Thread.currentThread();
            Thread interrupter = Thread.ofPlatform().daemon().start(() -> {
                try {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (db.activeConnections() == 0 && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                    }
                    busy.close();
                    Thread.sleep(300);
                    caller.interrupt();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                Result<Record> result = db.session().all(sql).toCompletableFuture().join();
                assertThat(result).hasSize(1);
                assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
            } finally {
                interrupter.join();
                Thread.interrupted();
            }
            assertThat(db.activeConnections()).isZero();
        }
    }
}
