package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.example.schema.tables.records.ReadingsRecord;
import dev.sqlservice.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Defects found by the independent review of issues 12 and 13 (branch review-12-13). Each test names the defect it
 * proves; each fails on the reviewed code.
 */
@ExampleDatabase
class ReviewFindingsTest {

    private boolean postgres;

    @BeforeEach
    void backend(TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
    }

    private static <T> T join(CompletionStage<T> stage) {
        return stage.toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join();
    }

    /**
     * A PostgreSQL function that writes a row, then sleeps in a block that swallows the cancel (query_canceled), as
     * any statement may finish before a cancel lands: the statement then ends normally and its write commits.
     */
    private static void createCancelSwallowingFunction(Database db) {
        db.dsl().execute("""
                create or replace function review_write_then_sleep(p_id bigint, p_seconds float8) returns bigint
                language plpgsql as $$
                begin
                    insert into users (id, name) values (p_id, 'applied');
                    begin
                        perform pg_sleep(p_seconds);
                    exception when query_canceled then
                        null;
                    end;
                    return pg_backend_pid();
                end;
                $$""");
    }

    private static void awaitRunning(Database db, String marker) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            Integer n = db.dsl().fetchOne("select count(*)::int from pg_stat_activity where query like ? and pid <> pg_backend_pid()",
                    "%" + marker + "%").get(0, Integer.class);
            if (n != null && n > 0) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("statement never started");
    }

    // DEFECT (lie in outcome, issue 13 point 2 / README "a running statement is cancelled on the server"):
    // cancel(true) on an autocommit call returns true and the stage reports "cancelled" while its statement ran to
    // the end and its write committed. Calls.executeEnd (Calls.java:442) turns a statement that ended normally into
    // a CancellationException whenever call.cancelled is set, although nothing confirmed the cancel; a caller who
    // trusts cancel()==true and retries writes twice.
    @Test
    void cancel__that_returns_true__means_the_autocommit_statement_did_not_take_effect(Database db) throws Exception {
        assumeTrue(postgres, "uses a PL/pgSQL function that swallows the cancel");
        createCancelSwallowingFunction(db);
        CompletableFuture<Record> call = db.session()
                .one("select review_write_then_sleep(4201, 1.5) /* review-cancel-1 */").toCompletableFuture();
        awaitRunning(db, "review-cancel-1");
        boolean cancelled = call.cancel(true);
        Thread.sleep(2_500); // the statement ends at 1.5 s
        Integer written = db.dsl().fetchOne("select count(*)::int from users where id = 4201").get(0, Integer.class);
        assertThat(cancelled && written == 1)
                .as("cancel() returned %s and the stage is cancelled=%s, yet the statement's row was written (%s row)",
                        cancelled, call.isCancelled(), written)
                .isFalse();
    }

    // DEFECT (connection handed out again after an unconfirmed cancel; Calls.cancelOnServer Javadoc "such a
    // connection is never reused"): with a dataSource handed in, Lease.close (Connections.java:148-156) calls
    // abort() -- which only schedules connection.abort on another thread -- and then connection.close() at once,
    // so the pool gets the connection back first; the later abort of the closed proxy fails silently and the very
    // same server session is handed out to the next borrower, with a cancel possibly still in flight.
    @Test
    void dataSource__a_connection_whose_cancel_was_not_confirmed__is_never_handed_out_again(TestDatabase test)
            throws Exception {
        assumeTrue(postgres, "uses a PL/pgSQL function that swallows the cancel");
        createCancelSwallowingFunction(test.database());
        try (HikariDataSource pool = TestPools.pool(test, 1);
                Database db = Database.builder().dataSource(pool).statementTimeout(Duration.ofMillis(200)).build()) {
            // times out at 200 ms, the cancel is sent, the statement swallows it and ends normally: unconfirmed
            long pidOfCall = join(db.session().one("select review_write_then_sleep(4202, 0.6)")).get(0, Long.class);
            Thread.sleep(500); // ample time for the asynchronous abort
            long pidNext;
            try (Connection c = pool.getConnection(); Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("select pg_backend_pid()")) {
                r.next();
                pidNext = r.getLong(1);
            }
            assertThat(pidNext)
                    .as("the session whose cancel was never confirmed was handed out again")
                    .isNotEqualTo(pidOfCall);
        }
    }

    // DEFECT (hang, issue 13 point 4 "no call hangs forever on a dead connection"): the liveness probe
    // (Liveness.isAlive, Liveness.java:54-70; Backend.sessionAliveSql, Backend.java:130,203) asks over a NEW connection whether the
    // server session still exists (pg_stat_activity / processlist). When only the established connection is dead
    // (a NAT or firewall dropping the flow's state, a load balancer failover) the server session is alive, so
    // every probe answers "alive", quietSince is reset, and the call waits forever despite deadConnectionTimeout.
    @Test
    @org.junit.jupiter.api.Tag("reliability")
    void dead_connection__a_call_on_a_severed_connection_fails_within_the_dead_connection_timeout_even_when_the_server_session_lives(
            TestDatabase test) throws Exception {
        String host = FaultProxy.hostOf(test.url());
        int port = FaultProxy.portOf(test.url());
        try (SeveringProxy proxy = new SeveringProxy(host, port);
                Database db = test.builder().url(proxy.proxiedUrl(test.url())).poolSize(1).acquisitionTimeout(Duration.ofSeconds(3))
                        .deadConnectionTimeout(Duration.ofSeconds(2)).build()) {
            CompletableFuture<Record> call = db.session()
                    .one(postgres ? "select pg_sleep(6) as s" : "select sleep(6) as s").toCompletableFuture();
            Thread.sleep(500);
            proxy.severExisting();
            long start = System.nanoTime();
            // promised: dead within deadConnectionTimeout (2 s) plus the cancel grace (1 s); 10 s is generous
            boolean ended;
            try {
                call.get(10, TimeUnit.SECONDS);
                ended = true;
            } catch (java.util.concurrent.ExecutionException e) {
                ended = true;
            } catch (java.util.concurrent.TimeoutException e) {
                ended = false;
            }
            assertThat(ended)
                    .as("a call on a silently severed connection (server session alive) ended within %d ms",
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
                    .isTrue();
        }
    }

    // DEFECT (silent wrong data, issue 12 item 3; README "the pool's sessions use time_zone = '+00:00'"): on MariaDB
    // the library's own pool sets the time zone only when a connection is created (Database.java:437,
    // connectionInitSql); any statement that changes it (here a call's own "set time_zone") leaves the pooled
    // session shifted, and every later OffsetDateTime write on it is stored shifted while the refresh hides it.
    // A dataSource handed in is checked on every lease (Connections.checkSessions), the owned pool never.
    @Test
    void mariadb__offsetDateTime_is_stored_as_the_same_instant_after_a_call_changed_the_session_time_zone(TestDatabase test) {
        assumeTrue(!postgres, "MariaDB session time zones");
        try (Database db = test.builder().poolSize(1).build()) {
            join(db.session().execute("set time_zone = '+02:00'"));
            OffsetDateTime instant = OffsetDateTime.of(2024, 1, 1, 10, 0, 0, 0, ZoneOffset.UTC);
            ReadingsRecord r = new ReadingsRecord();
            r.setTakenAt(instant);
            r.setNote("n");
            join(db.session().save(r));
            assertThat(r.getTakenAt().toInstant()).as("refreshed").isEqualTo(instant.toInstant());
            Long stored = test.database().dsl().fetchOne("select unix_timestamp(taken_at) from readings").get(0, Long.class);
            assertThat(stored).as("instant stored (read in a +00:00 session)").isEqualTo(instant.toEpochSecond());
        }
    }
}
