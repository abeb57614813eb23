package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record2;
import org.jooq.RecordContext;
import org.jooq.RecordListener;
import org.jooq.RecordListenerProvider;
import org.jooq.Result;
import org.jooq.conf.RecordDirtyTracking;
import org.jooq.conf.Settings;
import org.jooq.impl.DefaultRecordListenerProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Independent review of 245baea (a direct read stores each value by position, {@code AbstractRecord.set(int,
 * Object)}) and 8e7d821 (the gate asked inside the call; prepared verbs fall back to jOOQ inside the same call), at
 * c057c04. The reference is jOOQ's own reading ({@code db.dsl().fetch}) or the same call through jOOQ's cursor.
 * {@code DEFECT__} tests fail at the commit; {@code CHECKED__} tests pass (risks that held). Isolated: changes the
 * shared database's settings and listeners for a while, and flips the global switch.
 */
@ExampleDatabase
@Isolated
class FinalReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    @BeforeEach
    void rows(Database db) {
        UsersAndPosts.users(db, T0);
    }

    private static Throwable failure(Runnable call) {
        try {
            call.run();
        } catch (Throwable t) {
            return t;
        }
        throw new AssertionError("no failure");
    }

    /** What a stage ended with: its failure's cause, or the CancellationException of a cancelled stage. */
    private static Throwable outcome(java.util.concurrent.CompletionStage<?> stage) {
        try {
            stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
            throw new AssertionError("stage succeeded");
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.CancellationException e) {
            return e;
        } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    private static void sameFailure(Throwable actual, Throwable expected) {
        assertThat(actual).as("failure").isExactlyInstanceOf(expected.getClass());
        assertThat(actual.getMessage()).as("message").isEqualTo(expected.getMessage());
    }

    private static <T> T throughJooq(Supplier<T> work) {
        boolean before = DirectRows.unpreparedEnabled;
        boolean beforePrepared = DirectRows.enabled;
        DirectRows.unpreparedEnabled = false;
        DirectRows.enabled = false;
        try {
            return work.get();
        } finally {
            DirectRows.unpreparedEnabled = before;
            DirectRows.enabled = beforePrepared;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Change 1: values stored by position
    // ------------------------------------------------------------------------------------------------------------

    @Test
    void CHECKED__direct_records_equal_jooqs_and_store_alike_under_each_dirty_tracking_mode(Database db) {
        Settings settings = db.dsl().configuration().settings();
        RecordDirtyTracking before = settings.getRecordDirtyTracking();
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        try {
            for (RecordDirtyTracking mode : RecordDirtyTracking.values()) {
                settings.setRecordDirtyTracking(mode);
                Session session = db.blockingSession();
                assertThat(byId.bind(id, 1L).run(db).readsRowsDirectly()).as(mode + ": prepared reads directly").isTrue();
                UsersRecord jooq = db.dsl().fetchSingle(selectFrom(USERS).where(USERS.ID.eq(1L)));
                UsersRecord prepared = session.one(byId.bind(id, 1L));
                UsersRecord all = session.all(selectFrom(USERS).where(USERS.ID.eq(1L))).getFirst();
                DirectRowsTest.sameRecords(prepared, jooq);
                DirectRowsTest.sameRecords(all, jooq);

                // the same value set again: tracked as jOOQ tracks its own record
                for (UsersRecord record : List.of(jooq, prepared, all)) {
                    record.setName(record.getName());
                }
                assertThat(prepared.changed()).as(mode + " changed after same value").isEqualTo(jooq.changed());
                assertThat(all.changed(USERS.NAME)).as(mode + " changed(NAME)").isEqualTo(jooq.changed(USERS.NAME));
                assertThat(prepared.modified()).as(mode + " modified").isEqualTo(jooq.modified());
                int jooqStored = jooq.store();
                assertThat(prepared.store()).as(mode + ": store() of the same value").isEqualTo(jooqStored);
                assertThat(all.store()).as(mode + ": store() of the same value").isEqualTo(jooqStored);

                // nothing set: an UPDATE of nothing
                UsersRecord fresh = session.one(byId.bind(id, 2L));
                assertThat(fresh.store()).as(mode + ": store() of an untouched record")
                        .isEqualTo(db.dsl().fetchSingle(selectFrom(USERS).where(USERS.ID.eq(2L))).store());
            }
        } finally {
            settings.setRecordDirtyTracking(before);
        }
    }

    @Test
    void CHECKED__store_refresh_original_and_reset_of_direct_records_match_jooqs(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        Session session = db.blockingSession();
        UsersRecord direct = session.one(byId.bind(id, 3L));
        UsersRecord jooq = db.dsl().fetchSingle(selectFrom(USERS).where(USERS.ID.eq(3L)));

        direct.setEmail("new@example.com");
        jooq.setEmail("new@example.com");
        assertThat(direct.original().intoArray()).containsExactly(jooq.original().intoArray());
        assertThat(direct.original(USERS.EMAIL)).isEqualTo("cid@example.com");
        assertThat(direct.touched(USERS.EMAIL)).isEqualTo(jooq.touched(USERS.EMAIL)).isTrue();
        assertThat(direct.touched(USERS.ID)).isEqualTo(jooq.touched(USERS.ID)).isFalse();
        direct.reset(USERS.EMAIL);
        jooq.reset(USERS.EMAIL);
        DirectRowsTest.sameRecords(direct, jooq);

        direct.setEmail("cid2@example.com");
        assertThat(direct.store()).as("UPDATE of the one changed column").isEqualTo(1);
        db.dsl().update(USERS).set(USERS.NAME, "Cyd").where(USERS.ID.eq(3L)).execute();
        direct.refresh();
        UsersRecord expected = db.dsl().fetchSingle(selectFrom(USERS).where(USERS.ID.eq(3L)));
        DirectRowsTest.sameRecords(direct, expected);

        // the refreshed record, fetched again directly
        DirectRowsTest.sameRecords(session.one(byId.bind(id, 3L)), expected);
        DirectRowsTest.sameRecords(session.all(selectFrom(USERS).where(USERS.ID.eq(3L))).getFirst(), expected);
    }

    @Test
    void CHECKED__a_select_list_of_some_of_a_tables_fields_reads_as_jooq_and_converts_into_the_table_alike(Database db) {
        Param<Long> min = param("min", Long.class);
        PreparedQuery<Record2<Long, String>> some = db.prepare(select(USERS.ID, USERS.EMAIL).from(USERS)
                .where(USERS.ID.ge(min)).orderBy(USERS.ID));
        assertThat(some.bind(min, 1L).run(db).readsRowsDirectly()).isTrue();
        Result<Record2<Long, String>> direct = db.blockingSession().all(some.bind(min, 1L));
        Result<Record2<Long, String>> jooq = db.dsl().fetch(select(USERS.ID, USERS.EMAIL).from(USERS)
                .where(USERS.ID.ge(1L)).orderBy(USERS.ID));
        assertThat(direct).hasSize(3).isEqualTo(jooq);
        for (int i = 0; i < direct.size(); i++) {
            DirectRowsTest.sameRecords(direct.get(i), jooq.get(i));
            UsersRecord a = direct.get(i).into(USERS);
            UsersRecord b = jooq.get(i).into(USERS);
            assertThat(a.intoArray()).containsExactly(b.intoArray());
            assertThat(a.changed()).isEqualTo(b.changed());
            for (int f = 0; f < a.size(); f++) {
                assertThat(a.changed(f)).as("into(USERS) changed " + f).isEqualTo(b.changed(f));
            }
            assertThat(a.original().intoArray()).containsExactly(b.original().intoArray());
        }
    }

    @Test
    void CHECKED__fields_whose_names_differ_only_in_case_are_stored_each_at_its_own_position(Database db) {
        Param<Long> key = param("id", Long.class);
        org.jooq.Field<String> upper = org.jooq.impl.DSL.upper(USERS.NAME).as("NAME");
        org.jooq.Field<String> qualified = org.jooq.impl.DSL.lower(USERS.NAME).as(org.jooq.impl.DSL.name("Name"));
        PreparedQuery<org.jooq.Record3<String, String, String>> names = db.prepare(
                select(USERS.NAME, upper, qualified).from(USERS).where(USERS.ID.eq(key)));
        assertThat(names.bind(key, 2L).run(db).readsRowsDirectly()).as("read directly").isTrue();
        var jooq = db.dsl().fetchSingle(select(USERS.NAME, upper, qualified).from(USERS).where(USERS.ID.eq(2L)));
        var direct = db.blockingSession().one(names.bind(key, 2L));
        assertThat(jooq.intoArray()).containsExactly("Bob", "BOB", "bob");
        DirectRowsTest.sameRecords(direct, jooq);
        DirectRowsTest.sameRecords(db.blockingSession().all(names.bind(key, 2L)).getFirst(), jooq);
        assertThat(direct.get(upper)).isEqualTo("BOB");
        assertThat(direct.get(qualified)).isEqualTo("bob");
    }

    @Test
    void CHECKED__save_refreshes_records_in_the_state_jooqs_cursor_leaves(Database db) {
        Session session = db.blockingSession();
        UsersRecord direct = db.dsl().newRecord(USERS);
        direct.setId(10L);
        direct.setName("Dee");
        direct.setEmail("dee@example.com");
        UsersRecord saved = session.save(direct);
        UsersRecord cursor = db.dsl().newRecord(USERS);
        cursor.setId(11L);
        cursor.setName("Eve");
        cursor.setEmail("eve@example.com");
        UsersRecord savedThroughJooq = throughJooq(() -> session.save(cursor));
        {
            UsersRecord a = saved;
            UsersRecord b = savedThroughJooq;
            assertThat(a.changed()).isEqualTo(b.changed());
            assertThat(a.touched()).isEqualTo(b.touched());
            assertThat(DirectRowsTest.fetched(a)).isEqualTo(DirectRowsTest.fetched(b));
            for (int f = 0; f < a.size(); f++) {
                assertThat(a.changed(f)).as("changed " + f).isEqualTo(b.changed(f));
                assertThat(a.get(f) == null).as("null " + f).isEqualTo(b.get(f) == null);
            }
        }
        UsersRecord reread = db.dsl().fetchSingle(selectFrom(USERS).where(USERS.NAME.eq("Dee")));
        assertThat(saved.intoArray()).containsExactly(reread.intoArray());
        assertThat(saved.original().intoArray()).containsExactly(reread.original().intoArray());
    }

    @Test
    void CHECKED__a_saved_record_then_stored_updates_as_a_record_jooq_inserted_does(Database db) {
        UsersRecord saved = db.dsl().newRecord(USERS);
        saved.setId(20L);
        saved.setName("Gil");
        db.blockingSession().save(saved);
        UsersRecord stored = db.dsl().newRecord(USERS);
        stored.setId(21L);
        stored.setName("Hal");
        stored.store();
        saved.setName("Gil2");
        stored.setName("Hal2");
        assertThat(saved.store()).as("UPDATE of the saved record").isEqualTo(stored.store()).isEqualTo(1);
        assertThat(db.dsl().fetch(selectFrom(USERS).where(USERS.ID.ge(20L)).orderBy(USERS.ID)).map(UsersRecord::getName))
                .containsExactly("Gil2", "Hal2");
        // Observed, not asserted (outside the two changes, the same through jOOQ's cursor): jOOQ's store() leaves
        // its fetched mark set on the record it inserted, save() leaves it unset on the application's record.
    }

    // ------------------------------------------------------------------------------------------------------------
    // Change 2: prepared queries that cannot run directly behave as before, inside the same call
    // ------------------------------------------------------------------------------------------------------------

    @Test
    void CHECKED__named_sql_prepared_reports_rows_and_errors_as_plain_sql_does(Database db) {
        Session session = db.blockingSession();
        PreparedQuery<Record> named = db.prepare("select id, name from users where id >= :min order by id");
        Map<String, Object> all = Map.of("min", 1L);
        Map<String, Object> none = Map.of("min", 99L);
        String sql = "select id, name from users where id >= :min order by id";

        assertThat(session.all(named.bind(all))).isEqualTo(session.all(sql, all));
        assertThat(session.first(named.bind(all)).orElseThrow().get("id", Long.class)).isEqualTo(1L);
        assertThat(session.first(named.bind(none))).isEmpty();
        assertThat(session.oneOrNone(named.bind(none))).isEmpty();
        sameFailure(failure(() -> session.one(named.bind(all))), failure(() -> session.one(sql, all)));
        sameFailure(failure(() -> session.one(named.bind(none))), failure(() -> session.one(sql, none)));
        sameFailure(failure(() -> session.oneOrNone(named.bind(all))), failure(() -> session.oneOrNone(sql, all)));
        // async, the same
        sameFailure(Stages.failure(db.session().one(named.bind(all))), Stages.failure(db.session().one(sql, all)));
        sameFailure(Stages.failure(db.session().one(named.bind(none))), Stages.failure(db.session().one(sql, none)));
        assertThat(Stages.join(db.session().first(named.bind(all))).orElseThrow().get("id", Long.class)).isEqualTo(1L);

        PreparedQuery<Record> broken = db.prepare("select no_such_column from users where id >= :min");
        sameFailure(failure(() -> session.all(broken.bind(all))),
                failure(() -> session.all("select no_such_column from users where id >= :min", all)));
        sameFailure(failure(() -> session.first(broken.bind(all))),
                failure(() -> session.first("select no_such_column from users where id >= :min", all)));
    }

    @Test
    void CHECKED__a_typed_prepared_query_kept_on_jooqs_execution_fails_and_limits_as_the_unprepared_query(Database db) {
        Param<Long> min = param("min", Long.class);
        PreparedQuery<UsersRecord> from = db.prepare(selectFrom(USERS).where(USERS.ID.ge(min)).orderBy(USERS.ID));
        RecordListenerProvider[] before = db.dsl().configuration().recordListenerProviders();
        try {
            db.dsl().configuration().set(new DefaultRecordListenerProvider(new RecordListener() {
                @Override
                public void loadEnd(RecordContext ctx) {}
            }));
            assertThat(from.bind(min, 1L).run(db).direct()).as("kept on jOOQ's execution").isFalse();
            Session session = db.blockingSession();
            sameFailure(failure(() -> session.one(from.bind(min, 1L))),
                    failure(() -> session.one(selectFrom(USERS).where(USERS.ID.ge(1L)).orderBy(USERS.ID))));
            sameFailure(failure(() -> session.one(from.bind(min, 9L))),
                    failure(() -> session.one(selectFrom(USERS).where(USERS.ID.ge(9L)).orderBy(USERS.ID))));
            sameFailure(failure(() -> session.oneOrNone(from.bind(min, 1L))),
                    failure(() -> session.oneOrNone(selectFrom(USERS).where(USERS.ID.ge(1L)).orderBy(USERS.ID))));
            assertThat(session.first(from.bind(min, 2L)).orElseThrow().getId()).isEqualTo(2L);
            assertThat(session.all(from.bind(min, 2L))).hasSize(2)
                    .isEqualTo(db.dsl().fetch(selectFrom(USERS).where(USERS.ID.ge(2L)).orderBy(USERS.ID)));
            sameFailure(Stages.failure(db.session().one(from.bind(min, 9L))),
                    Stages.failure(db.session().one(selectFrom(USERS).where(USERS.ID.ge(9L)).orderBy(USERS.ID))));
        } finally {
            db.dsl().configuration().set(before);
        }
    }

    @Test
    void CHECKED__a_prepared_call_that_times_out_waiting_for_its_connection_fails_as_the_unprepared_call(
            TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).acquisitionTimeout(Duration.ofMillis(300)).build()) {
            Param<Long> id = param("id", Long.class);
            PreparedQuery<UsersRecord> typed = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
            PreparedQuery<Record> named = db.prepare("select id from users where id = :id");
            try (HeldConnection held = HeldConnection.of(db)) {
                Session session = db.blockingSession();
                Throwable unprepared = failure(() -> session.one(selectFrom(USERS).where(USERS.ID.eq(1L))));
                sameFailure(failure(() -> session.one(typed.bind(id, 1L))), unprepared);
                sameFailure(failure(() -> session.first(typed.bind(id, 1L))), unprepared);
                sameFailure(failure(() -> session.all(typed.bind(id, 1L))), unprepared);
                Throwable plain = failure(() -> session.one("select id from users where id = :id", Map.of("id", 1L)));
                sameFailure(failure(() -> session.one(named.bind("id", 1L))), plain);
                sameFailure(Stages.failure(db.session().one(typed.bind(id, 1L))),
                        Stages.failure(db.session().one(selectFrom(USERS).where(USERS.ID.eq(1L)))));
                // a statement timeout shorter than the wait
                Session timed = db.blockingSession().withStatementTimeout(Duration.ofMillis(100));
                Throwable timedOut = failure(() -> timed.one(selectFrom(USERS).where(USERS.ID.eq(1L))));
                sameFailure(failure(() -> timed.one(typed.bind(id, 1L))), timedOut);
                sameFailure(failure(() -> timed.first(named.bind("id", 1L))),
                        failure(() -> timed.first("select id from users where id = :id", Map.of("id", 1L))));
            }
            // and once the connection is free again, both run
            assertThat(db.blockingSession().one(typed.bind(id, 1L)).getName()).isEqualTo("Ann");
            assertThat(db.blockingSession().one(named.bind("id", 1L)).get("id", Long.class)).isEqualTo(1L);
        }
    }

    @Test
    void CHECKED__a_prepared_call_cancelled_while_waiting_for_its_connection_fails_as_the_unprepared_call(
            TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            Param<Long> id = param("id", Long.class);
            PreparedQuery<UsersRecord> typed = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
            PreparedQuery<Record> named = db.prepare("select id from users where id = :id");
            try (HeldConnection held = HeldConnection.of(db)) {
                var unprepared = db.session().one(selectFrom(USERS).where(USERS.ID.eq(1L)));
                var prepared = db.session().one(typed.bind(id, 1L));
                var plain = db.session().one(named.bind("id", 1L));
                Thread.sleep(200);
                unprepared.toCompletableFuture().cancel(true);
                prepared.toCompletableFuture().cancel(true);
                plain.toCompletableFuture().cancel(true);
                Throwable expected = outcome(unprepared);
                sameFailure(outcome(prepared), expected);
                sameFailure(outcome(plain), expected);
            }
            assertThat(Stages.join(db.session().one(typed.bind(id, 2L))).getName()).isEqualTo("Bob");
            assertThat(db.blockingSession().all(selectFrom(USERS))).hasSize(3);
        }
    }
}
