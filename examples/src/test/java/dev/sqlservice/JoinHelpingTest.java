package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.selectFrom;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A platform thread that joins a query's stage before a worker has taken the call runs the call itself (as a
 * fork/join pool's joining thread helps), instead of waiting for a virtual thread to start, run it and wake it:
 * what a caller sees stays the same (the connection wait, its timeout and cancel, interrupts, where callbacks run).
 */
@ExampleDatabase
class JoinHelpingTest {

    private static final int CALLS = 20;

    @BeforeEach
    void oneUser(Database db) {
        db.dsl().insertInto(USERS, USERS.ID, USERS.NAME, USERS.EMAIL).values(1L, "Ann", "ann@example.com").execute();
    }

    /** A data source that records the thread borrowing each connection: the thread that runs a call. */
    private static DataSource recording(DataSource target, List<Thread> borrowers) {
        return (DataSource) Proxy.newProxyInstance(JoinHelpingTest.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getConnection")) {
                        borrowers.add(Thread.currentThread());
                    }
                    try {
                        return method.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void a_query_joined_at_once_from_a_platform_thread_runs_on_that_thread(TestDatabase test) throws Exception {
        List<Thread> borrowers = new CopyOnWriteArrayList<>();
        try (HikariDataSource pool = TestPools.pool(test, 4);
                Database db = Database.builder().dataSource(recording(pool, borrowers)).dialect(test.dialect())
                        .poolSize(4).build()) {
            Thread caller = Thread.currentThread();
            for (int i = 0; i < 10; i++) {
                // No virtual thread runs meanwhile: a worker could not take the call even if it raced for it.
                Optional<UsersRecord> ann;
                try (AutoCloseable busy = JoinHelpingReviewTest.carriersBusy()) {
                    ann = db.session().first(selectFrom(USERS).where(USERS.ID.eq(1L))).toCompletableFuture().join();
                }
                assertThat(ann).map(UsersRecord::getName).contains("Ann");
            }
            assertThat(borrowers).hasSize(10).containsOnly(caller);
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void a_query_joined_from_a_virtual_thread_runs_on_a_worker(TestDatabase test) throws Exception {
        List<Thread> borrowers = new CopyOnWriteArrayList<>();
        List<Thread> callers = new CopyOnWriteArrayList<>();
        try (HikariDataSource pool = TestPools.pool(test, 4);
                Database db = Database.builder().dataSource(recording(pool, borrowers)).dialect(test.dialect()).poolSize(4).build()) {
            Thread caller = Thread.ofVirtual().start(() -> {
                callers.add(Thread.currentThread());
                for (int i = 0; i < CALLS; i++) {
                    db.session().first(selectFrom(USERS).where(USERS.ID.eq(1L))).toCompletableFuture().join();
                }
            });
            assertThat(caller.join(Duration.ofSeconds(30))).isTrue();
            // An interrupt of a virtual thread closes the socket it reads from: a call must never run on one that
            // merely waits for it.
            assertThat(borrowers).hasSize(CALLS).doesNotContain(callers.getFirst());
        }
    }

    @Test
    void a_query_on_a_configured_executor_never_runs_on_the_joining_thread(TestDatabase test) {
        List<Thread> borrowers = new CopyOnWriteArrayList<>();
        var executor = Executors.newFixedThreadPool(2);
        try (HikariDataSource pool = TestPools.pool(test, 4);
                Database db = Database.builder().dataSource(recording(pool, borrowers)).dialect(test.dialect()).executor(executor).build()) {
            for (int i = 0; i < CALLS; i++) {
                db.session().first(selectFrom(USERS).where(USERS.ID.eq(1L))).toCompletableFuture().join();
            }
            assertThat(borrowers).hasSize(CALLS).doesNotContain(Thread.currentThread());
        } finally {
            executor.shutdown();
        }
    }

    @Test
    void transaction_work_never_runs_on_the_joining_thread(Database db) {
        for (int i = 0; i < CALLS; i++) {
            Thread worker = db.session().transaction(tx -> Thread.currentThread()).toCompletableFuture().join();
            assertThat(worker).isNotSameAs(Thread.currentThread());
            assertThat(worker.isVirtual()).isTrue();
        }
    }

    @Test
    void callbacks_attached_before_a_joined_call_ends_never_run_on_a_worker(TestDatabase test)
            throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            var helper = Executors.newSingleThreadScheduledExecutor();
            try {
                for (int i = 0; i < 5; i++) {
                    CountDownLatch holding = new CountDownLatch(1);
                    CountDownLatch release = new CountDownLatch(1);
                    CompletableFuture<Integer> holder = holdTheOnlyConnection(db, holding, release);
                    assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
                    CompletableFuture<Optional<UsersRecord>> call =
                            db.session().first(selectFrom(USERS).where(USERS.ID.eq(1L))).toCompletableFuture();
                    // attached while the call cannot have ended: it waits for the only connection
                    CompletableFuture<Boolean> callback = call.thenApply(row -> Dispatcher.isWorkerThread());
                    helper.schedule(release::countDown, 100, TimeUnit.MILLISECONDS);

                    assertThat(call.join()).isPresent();
                    // CompletableFuture lets the joining thread run callbacks too (join() helps complete them);
                    // what must never happen is a callback holding one of the few worker places.
                    assertThat(callback.join()).as("ran on a worker").isFalse();
                    assertThat(holder.join()).isEqualTo(1);
                }
            } finally {
                helper.shutdownNow();
            }
        }
    }

    /** Holds the pool's only connection (and the executor's only worker) until {@code release} is counted down. */
    private static CompletableFuture<Integer> holdTheOnlyConnection(Database db, CountDownLatch holding,
            CountDownLatch release) {
        return db.session().transaction(tx -> {
            holding.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return 1;
        }).toCompletableFuture();
    }

    @Test
    void an_interrupt_of_the_joining_thread_while_the_call_waits_for_a_connection_does_not_fail_it(TestDatabase test)
            throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofSeconds(20)).build()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Integer> holder = holdTheOnlyConnection(db, holding, release);
            assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
            Thread caller = Thread.currentThread();
            var helper = Executors.newSingleThreadScheduledExecutor();
            try {
                helper.schedule(caller::interrupt, 200, TimeUnit.MILLISECONDS);
                helper.schedule(release::countDown, 600, TimeUnit.MILLISECONDS);

                Optional<UsersRecord> ann = db.session().first(selectFrom(USERS).where(USERS.ID.eq(1L)))
                        .toCompletableFuture().join();

                // join() waits without being interrupted and keeps the interrupt for the caller
                assertThat(Thread.interrupted()).isTrue();
                assertThat(ann).isPresent();
                assertThat(holder.join()).isEqualTo(1);
            } finally {
                Thread.interrupted();
                release.countDown();
                helper.shutdownNow();
            }
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void a_cancel_while_the_joined_call_waits_for_a_connection_ends_it_and_it_never_runs(TestDatabase test)
            throws Exception {
        List<Thread> borrowers = new CopyOnWriteArrayList<>();
        try (HikariDataSource pool = TestPools.pool(test, 1);
                Database db = Database.builder().dataSource(recording(pool, borrowers)).dialect(test.dialect()).poolSize(1)
                        .acquisitionTimeout(Duration.ofSeconds(20)).build()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Integer> holder = holdTheOnlyConnection(db, holding, release);
            assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
            int borrowedBefore = borrowers.size();
            AtomicReference<CompletableFuture<?>> call = new AtomicReference<>();
            var helper = Executors.newSingleThreadScheduledExecutor();
            try {
                helper.schedule(() -> call.get().cancel(true), 200, TimeUnit.MILLISECONDS);
                CompletableFuture<Optional<UsersRecord>> first =
                        db.session().first(selectFrom(USERS).where(USERS.ID.eq(1L))).toCompletableFuture();
                call.set(first);
                long start = System.nanoTime();

                assertThatThrownBy(first::join).isInstanceOf(CancellationException.class);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
                assertThat(Thread.interrupted()).as("the cancel's interrupt is not left on the caller").isFalse();
            } finally {
                release.countDown();
                helper.shutdownNow();
            }
            assertThat(holder.join()).isEqualTo(1);
            Thread.sleep(200);
            assertThat(borrowers).as("the cancelled call borrowed nothing").hasSize(borrowedBefore);
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void a_joined_call_still_fails_after_the_acquisition_timeout(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofMillis(300)).build()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Integer> holder = holdTheOnlyConnection(db, holding, release);
            try {
                assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
                long start = System.nanoTime();

                assertThatThrownBy(() -> db.session().first(selectFrom(USERS)).toCompletableFuture().join())
                        .isInstanceOf(CompletionException.class).cause().isInstanceOf(DataAccessException.class)
                        .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("08001"));
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            } finally {
                release.countDown();
            }
            assertThat(holder.join()).isEqualTo(1);
        }
    }

    @Test
    void a_joined_saveAll_that_fails_completes_exceptionally_and_writes_nothing(Database db) {
        UsersRecord bad = new UsersRecord();
        bad.setId(2L);
        bad.setName(null); // not null in the schema
        UsersRecord good = new UsersRecord();
        good.setId(3L);
        good.setName("Cid");

        assertThatThrownBy(() -> db.session().saveAll(List.of(good, bad)).toCompletableFuture().join())
                .isInstanceOf(CompletionException.class).cause().isInstanceOf(DataAccessException.class);
        assertThat(db.dsl().fetchCount(USERS)).isEqualTo(1);
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }
}
