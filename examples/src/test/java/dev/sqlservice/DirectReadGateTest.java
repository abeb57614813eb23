package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.ExecuteListenerProvider;
import org.jooq.Param;
import org.jooq.RecordContext;
import org.jooq.RecordListener;
import org.jooq.RecordListenerProvider;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.jooq.impl.DefaultRecordListenerProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Issue 17, ninth session: which calls skip parts of jOOQ's execution (an unprepared {@code all()} read without
 * jOOQ's cursor, PostgreSQL's upsert refresh read the same way, a prepared run executed on JDBC) is decided per call
 * on the configuration as it is then. While the application's own listeners are on it (added through
 * {@code db.dsl().configuration()}), every call goes through jOOQ, so they see what jOOQ's {@code fetch} shows them;
 * once they are gone, the direct paths are taken again. Isolated: the read counters are global.
 */
@ExampleDatabase
@Isolated
class DirectReadGateTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    /** How many result sets the direct readers read while {@code work} ran (the test runs alone). */
    static long directReads(Runnable work) {
        long before = DirectRows.UNPREPARED_READS.sum();
        work.run();
        return DirectRows.UNPREPARED_READS.sum() - before;
    }

    /** Upper-cases each user's name when jOOQ loads the record, as a decrypting or normalising listener would. */
    static final class UpperCaseOnLoad implements RecordListener {
        final List<String> seen = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void loadEnd(RecordContext ctx) {
            if (ctx.record() instanceof UsersRecord user && user.getName() != null) {
                seen.add(user.getName());
                user.setName(user.getName().toUpperCase(java.util.Locale.ROOT));
            }
        }
    }

    /** Counts fetched records. */
    static final class RecordCounter implements ExecuteListener {
        int records;

        @Override
        public void recordEnd(ExecuteContext ctx) {
            records++;
        }
    }

    @Test
    void all_reads_directly_only_while_no_listener_of_the_applications_is_on_the_configuration(TestDatabase test) {
        try (Database db = test.builder().build()) {
            UsersAndPosts.users(db, T0);
            Supplier<List<String>> names = () -> db.blockingSession().all(selectFrom(USERS).orderBy(USERS.ID))
                    .map(UsersRecord::getName);
            assertThat(directReads(names::get)).as("no listener: read without jOOQ's cursor").isEqualTo(1);

            RecordListenerProvider[] records = db.dsl().configuration().recordListenerProviders();
            UpperCaseOnLoad upper = new UpperCaseOnLoad();
            db.dsl().configuration().setAppending(upper);
            List<String>[] seen = new List[1];
            assertThat(directReads(() -> seen[0] = names.get())).as("a RecordListener: jOOQ's cursor").isZero();
            assertThat(seen[0]).containsExactly("ANN", "BOB", "CID");
            assertThat(upper.seen).containsExactly("Ann", "Bob", "Cid");
            db.dsl().configuration().set(records);
            assertThat(directReads(names::get)).as("the RecordListener removed: direct again").isEqualTo(1);

            ExecuteListenerProvider[] executes = db.dsl().configuration().executeListenerProviders();
            RecordCounter counter = new RecordCounter();
            db.dsl().configuration().setAppending(counter);
            assertThat(directReads(names::get)).as("an ExecuteListener of the application's: jOOQ's cursor").isZero();
            assertThat(counter.records).as("records the application's listener saw").isEqualTo(3);
            db.dsl().configuration().set(executes);
            assertThat(directReads(names::get)).as("the ExecuteListener removed: direct again").isEqualTo(1);
            assertThat(counter.records).isEqualTo(3);

            // a listener provider of the application's that wraps the library's own kind is still the application's
            db.dsl().configuration().set(executes).setAppending(new DefaultExecuteListenerProvider(new RecordCounter()));
            assertThat(directReads(names::get)).isZero();
            db.dsl().configuration().set(executes);
        }
    }

    @Test
    void a_prepared_run_goes_through_jooq_while_a_record_listener_is_on_and_reads_what_jooq_reads(TestDatabase test) {
        try (Database db = test.builder().build()) {
            UsersAndPosts.users(db, T0);
            Param<Long> id = DSL.param("id", Long.class);
            PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
            assertThat(byId.bind(id, 2L).run(db).direct()).isTrue();

            db.dsl().configuration().set(new DefaultRecordListenerProvider(new UpperCaseOnLoad()));
            assertThat(byId.bind(id, 2L).run(db).direct()).as("a RecordListener: jOOQ executes the run").isFalse();
            UsersRecord read = db.blockingSession().first(byId.bind(id, 2L)).orElseThrow();
            assertThat(read.getName()).as("the listener's value, as jOOQ's fetch gives it")
                    .isEqualTo(db.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.eq(2L))).getName()).isEqualTo("BOB");
            db.dsl().configuration().set(new RecordListenerProvider[0]);
            assertThat(byId.bind(id, 2L).run(db).direct()).isTrue();
        }
    }

    @Test
    void saveAll_refreshes_through_jooqs_cursor_while_a_record_listener_is_on(TestDatabase test) {
        try (Database db = test.builder().build()) {
            org.junit.jupiter.api.Assumptions.assumeTrue(db.dialect().family() == SQLDialect.POSTGRES,
                    "the upsert's RETURNING is PostgreSQL's");
            UsersRecord ann = new UsersRecord();
            ann.setId(1L);
            ann.setName("ann");
            ann.setCreatedAt(T0);
            assertThat(directReads(() -> db.blockingSession().saveAll(List.of(ann)))).as("refresh read directly")
                    .isEqualTo(1);

            db.dsl().configuration().set(new DefaultRecordListenerProvider(new UpperCaseOnLoad()));
            UsersRecord bob = new UsersRecord();
            bob.setId(2L);
            bob.setName("bob");
            bob.setCreatedAt(T0);
            assertThat(directReads(() -> db.blockingSession().saveAll(List.of(bob)))).isZero();
            assertThat(bob.getName()).as("refreshed as jOOQ reads the row")
                    .isEqualTo(db.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.eq(2L))).getName()).isEqualTo("BOB");
        }
    }
}
