package dev.sqlservice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Review of the harness (issue 15): each test runs a small test class under the extension through JUnit's launcher
 * (its own run: own root store, own servers, own databases), whose second test checks what its first test left.
 * Every test here states a promise of the README section "The test harness"; a failing one is a finding in
 * FINDINGS.md.
 */
@SqlServiceTest(migrations = "classpath:harness-review/{vendor}")
class HarnessReviewTest {

    static final String REVIEW = "classpath:harness-review/{vendor}";

    static volatile Cursor<Record> leakedCursor;
    static volatile Connection leakedConnection;
    static volatile CompletableFuture<?> lateWrite;

    private static long number(DSLContext dsl, String sql) {
        return ((Number) dsl.fetchValue(sql)).longValue();
    }

    private static boolean postgres(TestDatabase test) {
        return test.dialect().family() == SQLDialect.POSTGRES;
    }

    /** Runs the classes in one launcher run; returns "test: message" for each failure. */
    static List<String> failures(Class<?>... classes) {
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        var request = LauncherDiscoveryRequestBuilder.request().configurationParameter(Launched.PARAMETER, "true");
        for (Class<?> c : classes) {
            request.selectors(selectClass(c));
        }
        LauncherFactory.create().execute(request.build(), listener);
        assertThat(listener.getSummary().getTestsFoundCount()).as("tests found").isPositive();
        return listener.getSummary().getFailures().stream()
                .map(f -> f.getTestIdentifier().getDisplayName() + ": " + f.getException())
                .toList();
    }

    // ---------------------------------------------------------------- false "unchanged"

    @Test
    void a_sequence_with_a_cache__starts_from_its_migrated_value_in_the_next_test(TestDatabase test) {
        assumeTrue(postgres(test), "sequence caches per session: PostgreSQL");
        assertThat(failures(CachedSequence.class)).isEmpty();
    }

    @Test
    void a_materialized_view_refreshed_by_a_test__is_back_to_its_migrated_rows(TestDatabase test) {
        assumeTrue(postgres(test), "materialized views: PostgreSQL");
        assertThat(failures(MaterializedView.class)).isEmpty();
    }

    @Test
    void a_mariadb_sequence__is_set_back(TestDatabase test) {
        assumeTrue(!postgres(test), "CREATE SEQUENCE objects of MariaDB");
        assertThat(failures(MariaDbSequence.class)).isEmpty();
    }

    @Test
    void a_seed_row_whose_text_moved_between_adjacent_columns__is_restored(TestDatabase test) {
        assertThat(failures(ShiftedColumns.class)).isEmpty();
    }

    @Test
    void a_write_still_running_after_a_failed_leak_check__does_not_reach_the_next_test() throws Exception {
        try {
            List<String> failures = failures(LateWrite.class);
            assertThat(failures).as("only the test that left the call running fails").hasSize(1);
            assertThat(failures.getFirst()).startsWith("leaves_a_write_running(");
        } finally {
            if (lateWrite != null) {
                lateWrite.handle((r, e) -> null).get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void a_column_added_by_a_test__is_gone_in_the_next_test() {
        assertThat(failures(AddedColumn.class)).isEmpty();
    }

    @Test
    void a_seed_column_dropped_by_a_test__fails_only_that_test_not_every_later_one() {
        List<String> failures = failures(DroppedSeedColumn.class);
        assertThat(failures).as("later tests of the run").noneMatch(f -> f.startsWith("later_test_"));
    }

    // ---------------------------------------------------------------- parallel classes / nesting

    @Test
    void a_nested_class_with_its_own_migrations__runs_on_them_or_is_refused() {
        List<String> failures = failures(OuterOnSeed.class);
        assertThat(failures).as("a nested class's own @SqlServiceTest(migrations) silently ignored")
                .noneMatch(f -> f.contains("review_names"));
    }

    // ---------------------------------------------------------------- leaks / hangs

    @Test
    void a_leaked_cursor__fails_the_test_that_leaked_it_not_every_later_test() {
        try {
            List<String> failures = failures(LeakedCursor.class);
            assertThat(failures).as("failures").hasSize(1);
            assertThat(failures.getFirst()).startsWith("leaks_a_cursor(");
        } finally {
            if (leakedCursor != null) {
                leakedCursor.close();
            }
        }
    }

    @Test
    void a_transaction_a_test_left_open__does_not_hang_the_run() throws Exception {
        CompletableFuture<List<String>> run = CompletableFuture.supplyAsync(() -> failures(OpenTransaction.class));
        try {
            List<String> failures = run.get(40, TimeUnit.SECONDS);
            assertThat(failures).as("a clear failure is fine; a hang is not").isNotNull();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the run hung for 40 s: the next test's reset waits without limit for the lock"
                    + " of a transaction a test left open", e);
        } finally {
            Connection c = leakedConnection;
            if (c != null) {
                c.close(); // ends the transaction, so the hung run can finish and drop its database
            }
            run.handle((r, e) -> null).get(60, TimeUnit.SECONDS);
        }
    }

    // ---------------------------------------------------------------- errors

    @Test
    void a_password_in_the_server_url__is_never_in_a_message() {
        Server server = new Server("jdbc:mysql://127.0.0.1:3306/test?user=root&password=s3cret-in-url", "root", null,
                () -> {});

        assertThatThrownBy(() -> server.create(TestDatabase.uniqueName()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot create a database")
                .hasMessageNotContaining("s3cret-in-url");
    }

    @Test
    void a_password_in_the_authority_of_a_mysql_url__is_never_in_a_message() {
        Server server = new Server("jdbc:mysql://root:s3cret-userinfo@127.0.0.1:3306/test", "root", null, () -> {});

        assertThatThrownBy(() -> server.create(TestDatabase.uniqueName()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageNotContaining("s3cret-userinfo");
    }

    @Test
    void a_flyway_wildcard_location__is_accepted() {
        // Flyway has supported wildcards in classpath and filesystem locations since 6.4.
        assertThat(TestDatabase.locations(List.of("classpath:harness-*/{vendor}"), "postgresql"))
                .containsExactly("classpath:harness-*/postgresql");
    }

    // ================================================================ the classes run by the launcher

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class CachedSequence {
        @Test
        @Order(1)
        void takes_a_value(DSLContext dsl) {
            assertThat(number(dsl, "select nextval('review_cached')")).isEqualTo(1);
        }

        @Test
        @Order(2)
        void starts_from_the_migrated_value(DSLContext dsl) {
            assertThat(number(dsl, "select nextval('review_cached')")).as("nextval").isEqualTo(1);
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class MaterializedView {
        @Test
        @Order(1)
        void inserts_and_refreshes(DSLContext dsl) {
            dsl.execute("insert into review_orders values (1), (2)");
            dsl.execute("refresh materialized view review_order_count");
        }

        @Test
        @Order(2)
        void sees_the_migrated_view(DSLContext dsl) {
            assertThat(number(dsl, "select count(*) from review_orders")).as("orders").isZero();
            assertThat(number(dsl, "select n from review_order_count")).as("materialized count")
                    .isZero();
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class MariaDbSequence {
        @Test
        @Order(1)
        void takes_a_value(DSLContext dsl) {
            assertThat(number(dsl, "select nextval(review_cached)")).isEqualTo(1);
        }

        @Test
        @Order(2)
        void starts_from_the_migrated_value(DSLContext dsl) {
            assertThat(number(dsl, "select nextval(review_cached)")).as("nextval").isEqualTo(1);
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class ShiftedColumns {
        @Test
        @Order(1)
        void renames(DSLContext dsl) {
            dsl.execute("update review_names set first_name = 'AdaLove', last_name = 'lace' where id = 1");
        }

        @Test
        @Order(2)
        void sees_the_seed_row(DSLContext dsl) {
            assertThat(String.valueOf(dsl.fetchValue("select first_name from review_names where id = 1")))
                    .as("first_name").isEqualTo("Ada");
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class LateWrite {
        @Test
        @Order(1)
        void leaves_a_write_running(DSLContext dsl, TestDatabase test) throws InterruptedException {
            String sleep = postgres(test) ? "select pg_sleep(7)" : "select sleep(7)";
            lateWrite = CompletableFuture.runAsync(() -> dsl.transaction(tx -> {
                tx.dsl().execute("update review_kinds set name = 'late' where id = 1");
                tx.dsl().execute(sleep);
            }));
            // The call holds its connection before the test returns, so the leak check sees it and fails this test
            // (a call that has not borrowed one yet passes the leak check unseen).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (test.database().activeConnections() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        }

        @Test
        @Order(2)
        void sees_the_seed_rows(DSLContext dsl) throws Exception {
            lateWrite.handle((r, e) -> null).get(30, TimeUnit.SECONDS); // the write ends during this test
            assertThat(String.valueOf(dsl.fetchValue("select name from review_kinds where id = 1"))).as("name")
                    .isEqualTo("first");
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class AddedColumn {
        @Test
        @Order(1)
        void adds_a_column(DSLContext dsl) {
            dsl.execute("alter table review_log add column extra int");
        }

        @Test
        @Order(2)
        void sees_the_migrated_columns(DSLContext dsl) {
            assertThat(number(dsl, "select count(*) from information_schema.columns where table_name = 'review_log'"
                    + " and column_name = 'extra'")).as("columns named extra").isZero();
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class DroppedSeedColumn {
        @Test
        @Order(1)
        void drops_a_seed_column(DSLContext dsl) {
            dsl.execute("alter table review_kinds drop column note");
        }

        @Test
        @Order(2)
        void later_test_1(DSLContext dsl) {
            dsl.fetch("select 1");
        }

        @Test
        @Order(3)
        void later_test_2(DSLContext dsl) {
            dsl.fetch("select 1");
        }
    }

    @Launched
    @SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
    static class OuterOnSeed {
        @Test
        void outer(DSLContext dsl) {
            dsl.fetch("select * from countries");
        }

        @Nested
        @SqlServiceTest(migrations = REVIEW)
        class OnReview {
            @Test
            void reads_its_own_table(DSLContext dsl) {
                dsl.fetch("select * from review_names");
            }
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class LeakedCursor {
        @Test
        @Order(1)
        void leaks_a_cursor(DSLContext dsl) {
            leakedCursor = dsl.resultQuery("select * from review_kinds").fetchLazy();
        }

        @Test
        @Order(2)
        void later_test(DSLContext dsl) {
            dsl.fetch("select 1");
        }
    }

    @Launched
    @SqlServiceTest(migrations = REVIEW)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class OpenTransaction {
        @Test
        @Order(1)
        void leaves_a_transaction_open(TestDatabase test) throws Exception {
            Connection c = DriverManager.getConnection(test.url(), SeedDataTest.user(), SeedDataTest.password());
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("insert into review_log (msg) values ('open')");
            }
            leakedConnection = c;
        }

        @Test
        @Order(2)
        void later_test(DSLContext dsl) {
            dsl.fetch("select 1");
        }
    }
}
