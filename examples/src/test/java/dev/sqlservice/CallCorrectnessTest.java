package dev.sqlservice;

import static dev.sqlservice.example.schema.Keys.POSTS__POSTS_USER_ID_FKEY;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What calls promise about the records they return, transactions, timeouts, the connections they count and the
 * threads callbacks run on (issue 12, items 1, 3, 5, 7, 8, 11, 12).
 */
@ExampleDatabase
class CallCorrectnessTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private boolean postgres;

    @BeforeEach
    void oneUserWithThreePosts(Database db, TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        db.dsl().insertInto(USERS, USERS.ID, USERS.NAME).values(1L, "Ann").values(2L, "Bob").values(3L, "Cid").execute();
        db.dsl().insertInto(POSTS, POSTS.ID, POSTS.USER_ID, POSTS.TITLE)
                .values(1L, 1L, "one").values(2L, 1L, "two").values(3L, 1L, "three").execute();
    }

    private static <T> T join(CompletionStage<T> stage) {
        return Stages.join(stage);
    }

    private static Throwable failure(CompletionStage<?> stage) {
        return Stages.failure(stage);
    }

    private String slowStatement() {
        return postgres ? "select pg_sleep(10) as slow" : "select benchmark(30000000, md5('slow')) as slow";
    }

    // ---- item 1: records keep no row limit ---------------------------------------------------------------------

    @Test
    void records_returned_by_first_one_and_oneOrNone__read_every_row_in_later_queries(Database db) {
        AsyncSession session = db.session();
        List<UsersRecord> returned = List.of(
                join(session.one(selectFrom(USERS).where(USERS.ID.eq(1L)))),
                join(session.first(selectFrom(USERS).where(USERS.ID.eq(1L)))).orElseThrow(),
                join(session.oneOrNone(selectFrom(USERS).where(USERS.ID.eq(1L)))).orElseThrow(),
                db.blockingSession().one(selectFrom(USERS).where(USERS.ID.eq(1L))));

        for (UsersRecord ann : returned) {
            assertThat(ann.fetchChildren(POSTS__POSTS_USER_ID_FKEY)).hasSize(3);
            assertThat(ann.configuration().dsl().selectFrom(USERS).fetch()).hasSize(3);
        }
        Record plain = join(session.one("select id from users where id = :id", Map.of("id", 1L)));
        assertThat(plain.configuration().dsl().selectFrom(POSTS).fetch()).hasSize(3);
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void first_and_one__still_read_at_most_one_and_two_rows(Database db) {
        AsyncSession session = db.session();
        assertThat(join(session.first(selectFrom(POSTS).orderBy(POSTS.ID)))).map(r -> r.getId()).contains(1L);
        assertThat(failure(session.one(selectFrom(POSTS)))).isInstanceOf(org.jooq.exception.TooManyRowsException.class);
    }

    // ---- item 5: a cancelled transaction never commits --------------------------------------------------------

    @Test
    void transaction__cancelled_while_its_work_runs_java_code_after_the_last_statement__rolls_back(Database db)
            throws Exception {
        CountDownLatch wrote = new CountDownLatch(1);
        CountDownLatch cancelled = new CountDownLatch(1);
        CompletableFuture<Integer> tx = db.session().transaction(t -> {
            int n = t.execute("update users set name = 'Cancelled' where id = 1");
            wrote.countDown();
            try {
                cancelled.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return n;
        }).toCompletableFuture();
        assertThat(wrote.await(30, TimeUnit.SECONDS)).isTrue();

        assertThat(tx.cancel(true)).isTrue();
        cancelled.countDown();

        awaitNoActiveConnection(db);
        assertThat(db.dsl().fetchValue("select name from users where id = 1")).isEqualTo("Ann");
    }

    private static void awaitNoActiveConnection(Database db) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (db.activeConnections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(db.activeConnections()).isZero();
    }

    // ---- item 7: per-session statement timeouts apply inside transactions --------------------------------------

    @Test
    void withStatementTimeout__applies_to_calls_made_inside_transaction_work(Database db) {
        AsyncSession limited = db.session().withStatementTimeout(Duration.ofMillis(200));
        long started = System.nanoTime();

        Throwable failure = failure(db.session().transaction(tx -> join(limited.all(slowStatement()))));

        // join() inside the work threw a CompletionException; the stage reports its cause, as CompletableFuture does.
        assertThat(failure).isInstanceOf(DataAccessException.class).hasMessageContaining("timed out after 200 ms");
        assertThat(failure.getCause()).isInstanceOf(SQLTimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(8));
    }

    @Test
    void withStatementTimeout__of_the_blocking_session_applies_inside_transaction_work_too(Database db) {
        Session limited = db.blockingSession().withStatementTimeout(Duration.ofMillis(200));

        assertThatThrownBy(() -> db.blockingSession().transaction(tx -> limited.all(slowStatement())))
                .isInstanceOf(DataAccessException.class).hasMessageContaining("timed out after 200 ms");
    }

    // ---- item 8: connections taken through dsl() are counted and bounded like calls ---------------------------

    @Test
    void dsl__connections_it_holds_are_active_and_calls_wait_for_them_with_the_acquisition_timeout(TestDatabase test) {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofMillis(400)).build()) {
            try (Cursor<UsersRecord> cursor = db.dsl().selectFrom(USERS).fetchLazy()) {
                assertThat(cursor.fetchNext()).isNotNull();
                assertThat(db.activeConnections()).isEqualTo(1);

                Throwable failure = failure(db.session().all(selectFrom(USERS)));
                assertThat(failure).isInstanceOf(DataAccessException.class).hasMessageContaining("acquisitionTimeout");
                assertThat(((DataAccessException) failure).sqlState()).isEqualTo("08001");
            }
            assertThat(db.activeConnections()).isZero();
            assertThat(join(db.session().all(selectFrom(USERS)))).hasSize(3);
        }
    }

    @Test
    void dsl__inside_transaction_work_takes_part_in_the_transaction(Database db) {
        assertThatThrownBy(() -> db.blockingSession().transaction(tx -> {
            db.dsl().update(USERS).set(USERS.NAME, "Rolled back").where(USERS.ID.eq(1L)).execute();
            throw new IllegalStateException("undo");
        })).hasMessage("undo");

        assertThat(db.dsl().fetchValue("select name from users where id = 1")).isEqualTo("Ann");
    }

    // ---- item 11: cancelled calls give their worker and permit up; callbacks never hold a worker --------------

    @Test
    void cancel__of_a_call_waiting_for_a_connection_never_takes_a_connection(TestDatabase test) throws Exception {
        try (HikariDataSource pool = pool(test, 2)) {
            CountingDataSource counting = new CountingDataSource(pool);
            try (Database db = Database.builder().dataSource(counting).dialect(test.dialect()).poolSize(1)
                    .acquisitionTimeout(Duration.ofSeconds(20)).build()) {
                CountDownLatch holding = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                Thread holder = Thread.ofVirtual().start(() -> db.blockingSession().transaction(tx -> {
                    holding.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return null;
                }));
                assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
                int before = counting.borrowed.get();

                CompletableFuture<Record> waiting = db.session().one("select 1 as one").toCompletableFuture();
                Thread.sleep(200); // the call has reached the connection wait
                assertThat(waiting.cancel(true)).isTrue();
                // Its worker is free again: a call submitted now runs as soon as the connection is back.
                CompletableFuture<Record> next = db.session().one("select 2 as two").toCompletableFuture();
                release.countDown();
                holder.join();

                assertThat(next).succeedsWithin(WAIT);
                assertThat(counting.borrowed.get() - before).as("connections taken after the holder started")
                        .isEqualTo(1);
                assertThat(db.activeConnections()).isZero();
            }
        }
    }

    @Test
    void callbacks__attached_while_calls_complete_never_run_on_a_call_worker(TestDatabase test) {
        try (Database db = test.builder().poolSize(1).build()) {
            AsyncSession async = db.session();
            List<String> onWorker = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.SplittableRandom random = new java.util.SplittableRandom(42);
            for (int round = 0; round < 3_000 && onWorker.isEmpty(); round++) {
                CompletableFuture<Record> call = async.one("select 1 as one").toCompletableFuture();
                CompletableFuture<Record> behind = async.one("select 2 as two").toCompletableFuture();
                // The call gives its connection back just before its stage completes: attach the callback a few
                // microseconds after that, while another call is queued for the worker. Wherever the callback then
                // runs, it must not be on the worker the queued call needs.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (db.activeConnections() == 0 && !call.isDone() && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                while (db.activeConnections() > 0 && !call.isDone() && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                long attachAt = System.nanoTime() + random.nextLong(4_000);
                while (System.nanoTime() < attachAt) {
                    Thread.onSpinWait();
                }
                call.thenRun(() -> {
                    if (Dispatcher.isWorkerThread()) {
                        onWorker.add(Thread.currentThread().getName());
                    }
                });
                assertThat(behind).succeedsWithin(WAIT);
            }
            assertThat(onWorker).as("callbacks that ran while holding a call worker's place").isEmpty();
        }
    }

    // ---- item 12: fast statements leave nothing on the timer ---------------------------------------------------

    @Test
    void statementTimeout__fast_statements_leave_no_timer_task_behind(TestDatabase test) {
        try (Database db = test.builder().statementTimeout(Duration.ofMinutes(5)).build()) {
            Session session = db.blockingSession();
            for (int i = 0; i < 2_000; i++) {
                session.one("select 1 as one");
            }
            assertThat(db.pendingTimerTasks()).as("timer tasks still queued").isLessThan(10);
        }
    }

    // ---- item 3: MariaDB sessions that are not on UTC never store shifted timestamps ---------------------------
    // MariaDB runs every statement of the library with SET STATEMENT time_zone = '+00:00', so a data source whose
    // sessions use another zone (or one changed later) stores and reads the same instants.

    @Test
    void mariadb_dataSource__whose_sessions_are_not_utc__stores_and_reads_the_same_instant(TestDatabase test) {
        assumeTrue(!postgres, "PostgreSQL stores timestamptz as an instant whatever the session time zone");
        try (HikariDataSource pool = pool(test, 2, "set time_zone = '+02:00'");
                Database db = Database.builder().dataSource(pool).build()) {
            assertSavedAsTheSameInstant(db, test);
        }
    }

    @Test
    void mariadb_dataSource__a_later_connection_not_on_utc__still_stores_the_same_instant(TestDatabase test) {
        assumeTrue(!postgres, "PostgreSQL stores timestamptz as an instant whatever the session time zone");
        try (HikariDataSource pool = pool(test, 2)) {
            java.util.concurrent.atomic.AtomicBoolean shift = new java.util.concurrent.atomic.AtomicBoolean();
            // Connections are on UTC while the database is built, and moved to +02:00 afterwards (a pool that
            // reconfigures its sessions, or one whose connections differ).
            DataSource shifting = new CountingDataSource(pool) {
                @Override
                public Connection getConnection() throws SQLException {
                    Connection c = super.getConnection();
                    if (shift.get()) {
                        try (var s = c.createStatement()) {
                            s.execute("set time_zone = '+02:00'");
                        }
                    }
                    return c;
                }
            };
            try (Database db = Database.builder().dataSource(shifting).build()) {
                shift.set(true);
                assertSavedAsTheSameInstant(db, test);
            }
        }
    }

    /** Saves a user created at 10:00Z; it must be stored, and read back through this database, as 10:00Z. */
    private static void assertSavedAsTheSameInstant(Database db, TestDatabase test) {
        UsersRecord max = new UsersRecord();
        max.setId(9L);
        max.setName("Max");
        OffsetDateTime tenUtc = OffsetDateTime.of(2024, 5, 1, 10, 0, 0, 0, ZoneOffset.UTC);
        max.setCreatedAt(tenUtc);

        join(db.session().save(max));

        assertThat(max.getCreatedAt().toInstant()).as("refreshed").isEqualTo(tenUtc.toInstant());
        Long stored = test.database().dsl().fetchOne("select unix_timestamp(created_at) from users where id = 9")
                .get(0, Long.class);
        assertThat(stored).as("stored, read in a UTC session").isEqualTo(tenUtc.toEpochSecond());
        UsersRecord read = join(db.session().one(selectFrom(USERS).where(USERS.ID.eq(9L))));
        assertThat(read.getCreatedAt().toInstant()).as("read through the shifted sessions").isEqualTo(tenUtc.toInstant());
        assertThat(join(db.session().one(selectFrom(USERS).where(USERS.CREATED_AT.eq(tenUtc))))).isNotNull();
    }

    private static HikariDataSource pool(TestDatabase test, int size, String... initSql) {
        return TestPools.pool(test, size, initSql);
    }

    /** A data source that counts the connections borrowed from it. */
    private static class CountingDataSource implements DataSource {
        final AtomicInteger borrowed = new AtomicInteger();
        private final DataSource delegate;

        CountingDataSource(DataSource delegate) {
            this.delegate = delegate;
        }

        @Override
        public Connection getConnection() throws SQLException {
            borrowed.incrementAndGet();
            return delegate.getConnection();
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            borrowed.incrementAndGet();
            return delegate.getConnection(username, password);
        }

        @Override
        public PrintWriter getLogWriter() throws SQLException {
            return delegate.getLogWriter();
        }

        @Override
        public void setLogWriter(PrintWriter out) throws SQLException {
            delegate.setLogWriter(out);
        }

        @Override
        public void setLoginTimeout(int seconds) throws SQLException {
            delegate.setLoginTimeout(seconds);
        }

        @Override
        public int getLoginTimeout() throws SQLException {
            return delegate.getLoginTimeout();
        }

        @Override
        public Logger getParentLogger() {
            return Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            return delegate.unwrap(iface);
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) throws SQLException {
            return delegate.isWrapperFor(iface);
        }
    }
}
