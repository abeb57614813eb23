package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.sql.SQLTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The blocking stream and forEach: rows, order, and the release of the connection on every path. */
@ExampleDatabase
class StreamTest {

    private boolean postgres;

    @BeforeEach
    void backend(TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
    }

    /** Rows 1..n, column {@code i}, in order. */
    String series(int n) {
        return postgres ? "select i from generate_series(1, " + n + ") i order by i"
                : "select seq as i from seq_1_to_" + n + " order by seq";
    }

    /** 10,000 rows whose evaluation fails at row 5,000 (PostgreSQL) or 5,001 (MariaDB). */
    String failingAtHalf() {
        return postgres ? "select i, 1 / (i - 5000) as x from generate_series(1, 10000) i"
                : "select seq as i, 5000 - seq as x from seq_1_to_10000";
    }

    static long i(Record r) {
        return r.get("i", Long.class);
    }

    static void awaitReleased(Database db) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (db.activeConnections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(db.activeConnections()).as("connections still borrowed").isZero();
    }

    @Test
    void stream__returns_every_row_in_order_across_fetches(Session session) {
        try (Stream<Record> rows = session.stream(series(2_500))) {
            assertThat(rows.map(StreamTest::i).toList()).hasSize(2_500).isSorted().startsWith(1L).endsWith(2_500L);
        }
    }

    @Test
    void stream__of_a_typed_query_returns_generated_records(Session session) {
        session.execute("insert into users (name) values ('Ada'), ('Bob'), ('Cy')");
        try (Stream<UsersRecord> users = session.stream(selectFrom(USERS).orderBy(USERS.NAME))) {
            assertThat(users.map(UsersRecord::getName).toList()).containsExactly("Ada", "Bob", "Cy");
        }
    }

    @Test
    void stream__of_named_sql_binds_its_parameters(Session session) {
        String sql = postgres ? "select i from generate_series(1, 100) i where i > :min order by i"
                : "select seq as i from seq_1_to_100 where seq > :min order by seq";
        try (Stream<Record> rows = session.stream(sql, Map.of("min", 97))) {
            assertThat(rows.map(StreamTest::i).toList()).containsExactly(98L, 99L, 100L);
        }
    }

    @Test
    void stream__of_no_rows_is_empty_and_gives_its_connection_back(Session session, Database db) {
        try (Stream<UsersRecord> users = session.stream(selectFrom(USERS))) {
            assertThat(users).isEmpty();
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void stream__holds_one_connection_until_closed(Session session, Database db) {
        Stream<Record> rows = session.stream(series(5_000));
        try (rows) {
            Iterator<Record> it = rows.iterator();
            assertThat(i(it.next())).isEqualTo(1L);
            assertThat(db.activeConnections()).isEqualTo(1);
        }
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void stream__read_to_the_end_gives_its_connection_back_before_close(Session session, Database db) {
        try (Stream<Record> rows = session.stream(series(1_500))) {
            Iterator<Record> it = rows.iterator();
            long n = 0;
            while (it.hasNext()) {
                it.next();
                n++;
            }
            assertThat(n).isEqualTo(1_500);
            assertThat(db.activeConnections()).isZero();
        }
    }

    @Test
    void stream__read_after_close_is_an_IllegalStateException(Session session, Database db) {
        Stream<Record> rows = session.stream(series(5_000));
        Iterator<Record> it = rows.iterator();
        it.next();
        rows.close();
        assertThat(db.activeConnections()).isZero();
        assertThatThrownBy(it::next).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        rows.close(); // idempotent
    }

    @Test
    void stream__failing_half_way_delivers_the_rows_before_the_failure_then_throws_and_gives_the_connection_back(
            Session session, Database db) {
        List<Long> seen = new ArrayList<>();
        try (Stream<Record> rows = session.stream(failingAtHalf())) {
            assertThatThrownBy(() -> rows.forEach(r -> seen.add(i(r)))).isInstanceOf(DataAccessException.class);
            // No close yet: the failure itself released the connection.
            assertThat(db.activeConnections()).isZero();
            assertThatThrownBy(() -> rows.iterator().hasNext()).isInstanceOf(IllegalStateException.class);
        }
        // pgjdbc drops the rows of the batch the error arrived in; MariaDB's driver hands out every row before it.
        assertThat(seen.size()).isBetween(4_000, 5_000);
        for (int k = 0; k < seen.size(); k++) {
            assertThat(seen.get(k)).isEqualTo(k + 1L);
        }
    }

    @Test
    void stream__consumer_that_throws__the_stream_gives_its_connection_back_when_closed(Session session, Database db) {
        assertThatThrownBy(() -> {
            try (Stream<Record> rows = session.stream(series(5_000))) {
                rows.forEach(r -> {
                    if (i(r) == 1_234) {
                        throw new IllegalStateException("consumer failed");
                    }
                });
            }
        }).hasMessage("consumer failed");
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void stream__inside_a_transaction_reads_on_its_connection_and_sees_its_uncommitted_rows(Session session, Database db) {
        long seen = session.transaction(tx -> {
            tx.execute("insert into users (name) values ('Ada'), ('Bob')");
            try (Stream<UsersRecord> users = tx.stream(selectFrom(USERS))) {
                assertThat(db.activeConnections()).as("no second connection").isEqualTo(1);
                // The outer session joins the transaction on its thread.
                try (Stream<UsersRecord> again = session.stream(selectFrom(USERS))) {
                    assertThat(again.count()).isEqualTo(2);
                }
                return users.count();
            }
        });
        assertThat(seen).isEqualTo(2);
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void stream__left_open_in_a_transaction_is_closed_when_the_transaction_ends(Session session, Database db) {
        Stream<Record> open = session.transaction(tx -> {
            Stream<Record> rows = tx.stream(series(5_000));
            rows.iterator().next();
            return rows;
        });
        assertThat(db.activeConnections()).isZero();
        assertThatThrownBy(() -> open.iterator().next()).isInstanceOf(IllegalStateException.class);
        assertThat(session.all(selectFrom(USERS))).isEmpty(); // the connection went back to the pool usable
    }

    @Test
    void stream__of_a_transaction_read_on_another_thread_is_an_IllegalStateException(Session session) {
        session.transaction(tx -> {
            try (Stream<Record> rows = tx.stream(series(5_000))) {
                Iterator<Record> it = rows.iterator();
                CompletableFuture<Object> elsewhere = CompletableFuture.supplyAsync(() -> {
                    for (int k = 0; k < 2_000; k++) {
                        it.next();
                    }
                    return null;
                });
                assertThat(elsewhere).failsWithin(Duration.ofSeconds(5)).withThrowableThat()
                        .havingRootCause().isInstanceOf(IllegalStateException.class);
            }
            return null;
        });
    }

    @Test
    void stream__abandoned_without_close_is_released_and_reported(Session session, Database db) throws Exception {
        long before = db.abandonedStreams();
        openAndDrop(session);
        assertThat(db.activeConnections()).isEqualTo(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((db.activeConnections() > 0 || db.abandonedStreams() == before) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(db.abandonedStreams()).isEqualTo(before + 1);
        awaitReleased(db);
    }

    private void openAndDrop(Session session) {
        Stream<Record> rows = session.stream(series(5_000));
        assertThat(rows.iterator().next()).isNotNull();
    }

    @Test
    void forEach__passes_every_row_in_order_and_completes_with_the_count(AsyncSession session, Database db) {
        List<Long> seen = new ArrayList<>();
        long count = session.forEach(series(3_000), Map.of(), r -> seen.add(i(r))).toCompletableFuture().join();
        assertThat(count).isEqualTo(3_000);
        assertThat(seen).hasSize(3_000).isSorted().startsWith(1L);
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void forEach__action_that_throws_fails_the_stage_and_gives_the_connection_back(AsyncSession session, Database db)
            throws Exception {
        CompletableFuture<Long> stage = session.forEach(series(5_000), Map.of(), r -> {
            if (i(r) == 2_001) {
                throw new IllegalArgumentException("bad row");
            }
        }).toCompletableFuture();
        assertThat(stage).failsWithin(Duration.ofSeconds(10)).withThrowableThat().havingRootCause().withMessage("bad row");
        awaitReleased(db);
    }

    @Test
    void forEach__failing_half_way_fails_the_stage_after_the_rows_before_it(AsyncSession session, Database db)
            throws Exception {
        List<Long> seen = new ArrayList<>();
        CompletableFuture<Long> stage = session.forEach(failingAtHalf(), Map.of(), r -> seen.add(i(r))).toCompletableFuture();
        assertThat(stage).failsWithin(Duration.ofSeconds(10)).withThrowableThat().havingCause()
                .isInstanceOf(DataAccessException.class);
        assertThat(seen.size()).isBetween(4_000, 5_000);
        awaitReleased(db);
    }

    @Test
    void forEach__cancelled_while_the_action_runs_stops_reading_and_gives_the_connection_back(AsyncSession session,
            Database db) throws Exception {
        CountDownLatch inAction = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        List<Long> seen = new ArrayList<>();
        CompletableFuture<Long> stage = session.forEach(series(5_000), Map.of(), r -> {
            seen.add(i(r));
            if (i(r) == 10) {
                inAction.countDown();
                try {
                    resume.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }).toCompletableFuture();
        assertThat(inAction.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(stage.cancel(true)).isTrue();
        resume.countDown();
        awaitReleased(db);
        // The rows of the batch in hand may be passed on; no further batch is read.
        assertThat(seen.size()).isLessThanOrEqualTo(Streams.FETCH_SIZE);
    }

    @Test
    void stream__statement_timeout_counts_per_fetch_not_for_the_whole_stream(Session session, Database db)
            throws Exception {
        Session timed = session.withStatementTimeout(Duration.ofMillis(300));
        long n = 0;
        try (Stream<Record> rows = timed.stream(series(3_000))) {
            for (Iterator<Record> it = rows.iterator(); it.hasNext(); n++) {
                if (i(it.next()) % 1_000 == 0) {
                    Thread.sleep(400); // the consumer's time is not the statement's
                }
            }
        }
        assertThat(n).isEqualTo(3_000);
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void stream__fetch_that_outlives_the_statement_timeout_fails_with_a_timeout_and_gives_the_connection_back(
            Session session, Database db) throws Exception {
        // The first fetch is fast; the second reaches a row that takes 5 s to compute. (The padding fills MariaDB's
        // network buffer, which the server flushes only when full, so the rows before the slow one arrive at once.)
        String sql = postgres
                ? "select i, case when i = 1500 then pg_sleep(5) end as s from generate_series(1, 2000) i"
                : "select seq as i, repeat('x', 200) as padding, case when seq = 1500 then sleep(5) end as s"
                        + " from seq_1_to_2000";
        Session timed = session.withStatementTimeout(Duration.ofMillis(500));
        List<Long> seen = new ArrayList<>();
        long start = System.nanoTime();
        try (Stream<Record> rows = timed.stream(sql)) {
            assertThatThrownBy(() -> rows.forEach(r -> seen.add(i(r))))
                    .isInstanceOf(DataAccessException.class)
                    .satisfies(e -> assertThat(e.getCause()).isInstanceOf(SQLTimeoutException.class));
        }
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(4));
        assertThat(seen).hasSizeGreaterThanOrEqualTo(1_000).hasSizeLessThan(1_500);
        awaitReleased(db);
    }
}
