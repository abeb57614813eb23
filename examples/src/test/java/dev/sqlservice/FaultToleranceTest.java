package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The database going away under load, and more callers than connections: failures are clean, nothing is half
 * written, nothing leaks, and the same {@link Database} recovers.
 */
@ExampleDatabase
@Tag("reliability")
@Tag("slow")
class FaultToleranceTest {

    private static final int BATCH = 200;

    /** A workload of concurrent reads and saveAlls; each saveAll writes users [key, key + BATCH) or nothing. */
    private static final class Workload {
        final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Integer> attemptedBatches = new ConcurrentLinkedQueue<>();
        final AtomicInteger successes = new AtomicInteger();
        final AtomicBoolean running = new AtomicBoolean(true);
        final List<Thread> threads = new ArrayList<>();
        final AtomicInteger nextBatch = new AtomicInteger();

        void start(AsyncSession session, int writers, int readers) {
            for (int w = 0; w < writers; w++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    while (running.get()) {
                        int batch = nextBatch.getAndIncrement();
                        attemptedBatches.add(batch);
                        List<UsersRecord> users = new ArrayList<>();
                        for (int i = 0; i < BATCH; i++) {
                            UsersRecord u = new UsersRecord();
                            u.setId((long) batch * BATCH + i + 1);
                            u.setName("batch-" + batch);
                            users.add(u);
                        }
                        record(session.saveAll(users).toCompletableFuture());
                    }
                }));
            }
            for (int r = 0; r < readers; r++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    while (running.get()) {
                        record(session.all(selectFrom(USERS).limit(50)).toCompletableFuture());
                    }
                }));
            }
        }

        private void record(CompletableFuture<?> call) {
            try {
                call.get(60, TimeUnit.SECONDS);
                successes.incrementAndGet();
            } catch (java.util.concurrent.ExecutionException e) {
                failures.add(e.getCause());
            } catch (Exception e) {
                failures.add(e);
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) {
                assertThat(t.join(Duration.ofSeconds(90))).as("a workload thread hangs").isTrue();
            }
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static EmbeddedPostgres startPostgres(Path data, int port) throws Exception {
        return EmbeddedPostgres.builder().setDataDirectory(data).setCleanDataDirectory(false).setPort(port).start();
    }

    @Test
    void restart__in_flight_calls_fail_with_a_connection_error_nothing_is_half_written_and_the_database_recovers(
            TestDatabase test, @TempDir Path data) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "restarts an embedded PostgreSQL of its own");
        int port = freePort();
        EmbeddedPostgres postgres = startPostgres(data, port);
        try (Database db = Database.builder()
                .url(postgres.getJdbcUrl("postgres", "postgres"))
                .poolSize(4)
                .acquisitionTimeout(Duration.ofSeconds(3))
                .migrate("filesystem:db/migration/{vendor}")
                .build()) {
            Workload workload = new Workload();
            workload.start(db.session(), 3, 3);
            Thread.sleep(1_000);

            postgres.close();
            Thread.sleep(1_000);
            postgres = startPostgres(data, port);
            long restarted = System.nanoTime();
            long recoveredAfterMs = -1;
            while (System.nanoTime() - restarted < TimeUnit.SECONDS.toNanos(30)) {
                try {
                    db.session().one("select 1 as one").toCompletableFuture().join();
                    recoveredAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restarted);
                    break;
                } catch (CompletionException e) {
                    Thread.sleep(50);
                }
            }
            Thread.sleep(500);
            workload.stop();

            System.out.printf("restart: %d calls succeeded, %d failed; first call succeeded %d ms after the restart%n",
                    workload.successes.get(), workload.failures.size(), recoveredAfterMs);
            assertThat(recoveredAfterMs).as("a call succeeds within 30 s of the restart").isBetween(0L, 30_000L);
            assertThat(workload.failures).as("the restart was noticed").isNotEmpty();
            assertThat(workload.failures).allSatisfy(failure -> {
                assertThat(failure).isInstanceOf(DataAccessException.class);
                assertThat(((DataAccessException) failure).sqlState()).as(failure.toString()).startsWith("08");
            });
            for (int batch : workload.attemptedBatches) {
                long rows = db.blockingSession().one("select count(*) as n from users where name = :name",
                        Map.of("name", "batch-" + batch)).get("n", Long.class);
                assertThat(rows).as("rows of batch %d", batch).isIn(0L, (long) BATCH);
            }
            assertThat(db.activeConnections()).isZero();
        } finally {
            postgres.close();
        }
    }

    @Test
    void killed_connections__fail_cleanly_and_the_pool_recovers_on_mariadb(TestDatabase test, Database admin)
            throws Exception {
        assumeTrue(test.dialect().family() != SQLDialect.POSTGRES,
                "MariaDB stand-in for a restart: the server kills every connection of the pool");
        try (Database db = test.builder().poolSize(4).acquisitionTimeout(Duration.ofSeconds(3)).build()) {
            Workload workload = new Workload();
            workload.start(db.session(), 3, 3);
            Thread.sleep(1_000);
            for (var row : admin.blockingSession().all(
                    "select id from information_schema.processlist where db = database() and id <> connection_id()")) {
                try {
                    admin.blockingSession().execute("kill connection " + row.get(0, Long.class));
                } catch (DataAccessException alreadyGone) {
                    // the connection ended between listing and killing it
                }
            }
            Thread.sleep(1_000);
            workload.stop();

            assertThat(db.session().one("select 1 as one").toCompletableFuture().join().get("one", Integer.class)).isEqualTo(1);
            assertThat(workload.failures).allSatisfy(failure -> {
                assertThat(failure).isInstanceOf(DataAccessException.class);
                assertThat(((DataAccessException) failure).sqlState()).as(failure.toString()).matches("08.*|70100|HY000");
            });
            for (int batch : workload.attemptedBatches) {
                long rows = db.blockingSession().one("select count(*) as n from users where name = :name",
                        Map.of("name", "batch-" + batch)).get("n", Long.class);
                assertThat(rows).as("rows of batch %d", batch).isIn(0L, (long) BATCH);
            }
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void overload__ten_thousand_calls_on_a_pool_of_two_complete_or_fail_cleanly_with_few_platform_threads(
            TestDatabase test) throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        threads.resetPeakThreadCount();
        int platformBefore = threads.getThreadCount();
        try (Database db = test.builder().poolSize(2).acquisitionTimeout(Duration.ofSeconds(20)).build()) {
            List<CompletableFuture<Integer>> calls = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                calls.add(db.session().one("select :i as i", Map.of("i", i))
                        .thenApply(r -> r.get("i", Integer.class)).toCompletableFuture());
            }
            int completed = 0;
            int timedOut = 0;
            for (int i = 0; i < calls.size(); i++) {
                try {
                    assertThat(calls.get(i).get(2, TimeUnit.MINUTES)).isEqualTo(i);
                    completed++;
                } catch (java.util.concurrent.ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(DataAccessException.class)
                            .hasMessageContaining("acquisitionTimeout");
                    timedOut++;
                }
            }
            System.out.printf("overload: %d completed, %d timed out waiting for a connection; peak platform threads %d"
                    + " (%d before)%n", completed, timedOut, threads.getPeakThreadCount(), platformBefore);
            assertThat(completed + timedOut).isEqualTo(10_000);
            assertThat(threads.getPeakThreadCount()).as("platform threads stay bounded").isLessThan(platformBefore + 40);
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void overload__calls_beyond_the_acquisition_timeout_fail_with_a_clear_message(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofMillis(300)).build()) {
            CompletableFuture<Object> holder = db.session().transaction(tx -> {
                try {
                    Thread.sleep(2_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }).toCompletableFuture();
            Thread.sleep(200);

            Throwable failure = db.session().one("select 1 as one").toCompletableFuture()
                    .handle((r, e) -> e).get(10, TimeUnit.SECONDS);
            holder.get(10, TimeUnit.SECONDS);

            assertThat(failure).isInstanceOf(DataAccessException.class)
                    .hasMessageContaining("300 ms").hasMessageContaining("acquisitionTimeout");
            assertThat(((DataAccessException) failure).sqlState()).isEqualTo("08001");
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void overload__a_queued_call_waits_at_most_the_acquisition_timeout_in_queue_and_pool_together(TestDatabase test)
            throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofSeconds(2)).build()) {
            // The only worker and connection are busy for 1.5 s; meanwhile a blocking transaction queues for the
            // connection and then keeps it for 5 s. The async call waits in the executor's queue first, then for
            // the connection: its limit is for both together.
            CompletableFuture<Object> worker = db.session().transaction(tx -> {
                sleep(1_500);
                return null;
            }).toCompletableFuture();
            Thread.sleep(100);
            Thread blocking = Thread.ofPlatform().start(() -> db.blockingSession().transaction(tx -> {
                sleep(5_000);
                return null;
            }));
            Thread.sleep(100);

            long start = System.nanoTime();
            Throwable failure = db.session().one("select 1 as one").toCompletableFuture()
                    .handle((r, e) -> e).get(30, TimeUnit.SECONDS);
            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertThat(failure).isInstanceOf(DataAccessException.class).hasMessageContaining("acquisitionTimeout");
            // About 2 s; a call that restarted its limit when it left the queue would fail after about 3.3 s.
            assertThat(waitedMillis).isBetween(1_900L, 2_900L);
            worker.get(30, TimeUnit.SECONDS);
            blocking.join();
            assertThat(db.activeConnections()).isZero();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void close__leaves_no_thread_of_the_database_running(TestDatabase test) throws Exception {
        long before = timerThreads();
        Database db = test.builder().statementTimeout(Duration.ofSeconds(5)).build();
        db.session().one("select 1 as one").toCompletableFuture().join();
        assertThat(timerThreads()).isEqualTo(before + 1);

        db.close();

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (timerThreads() > before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(timerThreads()).isEqualTo(before);
        assertThat(db.activeConnections()).isZero();
    }

    private static long timerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("sqlservice-timeouts-"))
                .count();
    }
}
