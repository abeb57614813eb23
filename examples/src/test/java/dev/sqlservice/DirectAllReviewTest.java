package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.BLOBS;
import static dev.sqlservice.example.schema.Tables.CODES;
import static dev.sqlservice.example.schema.Tables.DEVICES;
import static dev.sqlservice.example.schema.Tables.DOCUMENTS;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.PRICES;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.TICKETS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.asterisk;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.tables.records.BlobsRecord;
import dev.sqlservice.example.schema.tables.records.CodesRecord;
import dev.sqlservice.example.schema.tables.records.DevicesRecord;
import dev.sqlservice.example.schema.tables.records.DocumentsRecord;
import dev.sqlservice.example.schema.tables.records.PricesRecord;
import dev.sqlservice.example.schema.tables.records.ReadingsRecord;
import dev.sqlservice.example.schema.tables.records.TicketsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.RecordContext;
import org.jooq.RecordListener;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * Independent review of 34cadea (all() of a generated table's records and the PostgreSQL upsert's RETURNING read
 * without jOOQ's cursor: {@link DirectRows#ofQuery}, {@link DirectRows#fetch}). The reference for "what jOOQ
 * reads" is jOOQ's own reading on the same configuration: {@code db.dsl()}, or the same library call with the
 * commit's switch {@link DirectRows#unpreparedEnabled} off ({@link #throughJooq}), which is the code path before
 * the commit. {@code DEFECT__} tests fail on the commit; {@code CHECKED__} tests pass (risks that held).
 */
@ExampleDatabase
class DirectAllReviewTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    /** Runs {@code work} with all() and saveAll's RETURNING read through jOOQ's cursor: the path before the commit. */
    static <T> T throughJooq(Supplier<T> work) {
        boolean before = DirectRows.unpreparedEnabled;
        DirectRows.unpreparedEnabled = false;
        try {
            return work.get();
        } finally {
            DirectRows.unpreparedEnabled = before;
        }
    }

    private static boolean postgres(TestDatabase test) {
        return test.dialect().family() == SQLDialect.POSTGRES;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Listeners on the Database's configuration (db.dsl().configuration(), jOOQ's mutable Configuration: the
    // configuration "every query runs on"). jOOQ calls them for every fetch; all() of a table's records no longer.
    // ------------------------------------------------------------------------------------------------------------

    /** What a user's ExecuteListener (metrics, auditing, Spring's exception translation) sees of one call. */
    static final class Events implements ExecuteListener {
        final List<String> seen = Collections.synchronizedList(new ArrayList<>());
        volatile boolean translate;

        @Override
        public void fetchStart(ExecuteContext ctx) {
            seen.add("fetchStart");
        }

        @Override
        public void resultEnd(ExecuteContext ctx) {
            seen.add("resultEnd(" + (ctx.result() == null ? "null" : ctx.result().size() + " rows") + ")");
        }

        @Override
        public void recordEnd(ExecuteContext ctx) {
            seen.add("recordEnd(" + ctx.record().get(0) + ")");
        }

        @Override
        public void fetchEnd(ExecuteContext ctx) {
            seen.add("fetchEnd");
        }

        @Override
        public void end(ExecuteContext ctx) {
            seen.add("end(rows=" + ctx.rows() + ")");
        }

        @Override
        public void exception(ExecuteContext ctx) {
            seen.add("exception");
            if (translate && ctx.exception() != null) {
                ctx.exception(new Translated(ctx.exception()));
            }
        }

        List<String> take() {
            synchronized (seen) {
                List<String> copy = List.copyOf(seen);
                seen.clear();
                return copy;
            }
        }
    }

    /** What an exception-translating listener (Spring's ExceptionTranslatorExecuteListener, say) throws instead. */
    static final class Translated extends DataAccessException {
        Translated(RuntimeException cause) {
            super("translated by the application's listener: " + cause.getMessage(), cause);
        }
    }

    @Test
    void DEFECT__a_users_execute_listener_sees_no_fetch_no_records_and_no_rows_from_all(TestDatabase test) {
        try (Database db = test.builder().build()) {
            UsersAndPosts.users(db, T0);
            Events events = new Events();
            db.dsl().configuration().setAppending(events);
            ResultQuery<UsersRecord> query = selectFrom(USERS).orderBy(USERS.ID);
            assertThat(DirectRows.ofQuery(query)).as("read without jOOQ's cursor").isNotNull();

            events.take();
            db.dsl().fetch(query);
            List<String> jooq = events.take();
            throughJooq(() -> db.blockingSession().all(query));
            List<String> before = events.take();
            db.blockingSession().all(query);
            List<String> all = events.take();

            assertThat(before).as("all() before the commit is jOOQ's fetch to a listener").isEqualTo(jooq);
            assertThat(all).as("a user's ExecuteListener during all(selectFrom(USERS)); jOOQ's fetch (all's stated"
                    + " equivalent, and all() before this commit) reports " + jooq).isEqualTo(jooq);
        }
    }

    @Test
    void DEFECT__a_users_exception_translating_listener_is_bypassed_when_all_cannot_read_a_value(TestDatabase test) {
        try (Database db = test.builder().settings(new Settings().withRenderSchema(false)).build()) {
            boolean postgres = postgres(test);
            Events events = new Events();
            events.translate = true;
            db.dsl().configuration().setAppending(events);
            Throwable[] failures = db.blockingSession().transaction(tx -> {
                UnpreparedDirectRowsTest.shadowUsersWithAnUnreadableId(tx, postgres);
                Throwable jooq = throughJooq(() -> catchThrowable(() -> tx.all(selectFrom(USERS))));
                Throwable direct = catchThrowable(() -> tx.all(selectFrom(USERS)));
                if (!postgres) {
                    tx.execute("drop temporary table users");
                }
                return new Throwable[] {jooq, direct};
            });
            assertThat(failures[0]).as("jOOQ's cursor hands the failure to the application's listener").isInstanceOf(Translated.class);
            assertThat(failures[1]).as("all() of the same query, read without jOOQ's cursor (jOOQ's reading threw "
                    + failures[0].getClass().getSimpleName() + ")").isInstanceOf(Translated.class);
            assertThat(db.activeConnections()).isZero();
        }
    }

    /**
     * A user's RecordListener (decryption on load, an identity map keyed by {@code record.key()}, auditing):
     * jOOQ calls {@code loadStart}, fills the record, then {@code loadEnd}. The direct reader creates the record
     * with {@code dsl.newRecord(table)}, which runs {@code loadStart}/{@code loadEnd} on the EMPTY record, then
     * sets the values: the listener sees nulls, and what it set is overwritten.
     */
    static final class UpperCaseOnLoad implements RecordListener {
        final List<String> seen = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void loadEnd(RecordContext ctx) {
            if (ctx.record() instanceof UsersRecord user) {
                seen.add(user.getId() + ":" + user.getName());
                if (user.getName() != null) {
                    user.setName(user.getName().toUpperCase(java.util.Locale.ROOT));
                }
            }
        }
    }

    @Test
    void DEFECT__a_users_record_listener_loads_an_empty_record_in_all_and_its_change_is_lost(TestDatabase test) {
        try (Database db = test.builder().build()) {
            UsersAndPosts.users(db, T0);
            UpperCaseOnLoad listener = new UpperCaseOnLoad();
            db.dsl().configuration().setAppending(listener);
            ResultQuery<UsersRecord> query = selectFrom(USERS).orderBy(USERS.ID);

            Result<UsersRecord> jooq = db.dsl().fetch(query);
            List<String> jooqSeen = List.copyOf(listener.seen);
            listener.seen.clear();
            Result<UsersRecord> all = db.blockingSession().all(query);
            List<String> allSeen = List.copyOf(listener.seen);

            assertThat(jooq.map(UsersRecord::getName)).containsExactly("ANN", "BOB", "CID");
            assertThat(allSeen).as("what the RecordListener saw in loadEnd during all(); in jOOQ's fetch: " + jooqSeen)
                    .isEqualTo(jooqSeen);
            assertThat(all.map(UsersRecord::getName)).as("names all() returns (jOOQ's fetch: its listener's)")
                    .isEqualTo(jooq.map(UsersRecord::getName));
        }
    }

    @Test
    void DEFECT__saveAll_refreshes_records_past_the_users_record_listener_unlike_jooqs_reading(TestDatabase test) {
        assumeTrue(postgres(test), "the RETURNING read by DirectRows.fetch is PostgreSQL's upsert");
        try (Database db = test.builder().build()) {
            UpperCaseOnLoad listener = new UpperCaseOnLoad();
            db.dsl().configuration().setAppending(listener);

            UsersRecord before = new UsersRecord();
            before.setId(10L);
            before.setName("ann");
            throughJooq(() -> db.blockingSession().saveAll(List.of(before)));
            UsersRecord after = new UsersRecord();
            after.setId(11L);
            after.setName("bob");
            db.blockingSession().saveAll(List.of(after));

            String fetched = db.dsl().fetchOne(selectFrom(USERS).where(USERS.ID.eq(11L))).getName();
            assertThat(before.getName()).as("saveAll before the commit: refreshed from jOOQ's reading").isEqualTo("ANN");
            assertThat(after.getName()).as("saveAll's refreshed record; db.dsl().fetch of the row reads '" + fetched
                    + "', and the same saveAll through jOOQ's cursor refreshed 'ann' to '" + before.getName() + "'")
                    .isEqualTo(fetched);
        }
    }

    @Test
    void DEFECT__all_leaves_the_querys_getResult_empty_unlike_jooqs_fetch(Database db) {
        UsersAndPosts.users(db, T0);
        ResultQuery<UsersRecord> jooq = selectFrom(USERS).orderBy(USERS.ID);
        Result<UsersRecord> fetched = db.dsl().fetch(jooq);
        assertThat(jooq.getResult()).as("jOOQ's fetch leaves its result on the query").isSameAs(fetched);

        ResultQuery<UsersRecord> query = selectFrom(USERS).orderBy(USERS.ID);
        Result<UsersRecord> all = db.blockingSession().all(query);
        assertThat(query.getResult()).as("ResultQuery.getResult() after all(query) (all's jOOQ equivalent is fetch)")
                .isSameAs(all);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Checked, held
    // ------------------------------------------------------------------------------------------------------------

    /**
     * Shapes where ofQuery could wrongly say yes (or no): every one reads as jOOQ reads it, values, types, state,
     * result fields and order; the ones read directly are those whose fields are the table's very own.
     */
    @Test
    @SuppressWarnings({"unchecked", "rawtypes"})
    void CHECKED__select_shapes_read_as_jooq_reads_them_whether_or_not_read_directly(Database db) {
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
        Table<UsersRecord> renamed = USERS.rename("users");
        List<ResultQuery<? extends Record>> direct = List.of(
                // a union whose second part selects other columns in another order: jOOQ reads by the first's fields
                selectFrom(USERS).where(USERS.ID.eq(1L)).unionAll((org.jooq.Select) (Object)
                        select(USERS.ID, USERS.EMAIL, USERS.NAME, USERS.CREATED_AT).from(USERS).where(USERS.ID.eq(3L))),
                // another table's columns coerced to USERS: read by USERS' fields, by position, as jOOQ does
                select(POSTS.USER_ID, POSTS.TITLE, POSTS.BODY, POSTS.UPDATED_AT).from(POSTS).orderBy(POSTS.ID).coerce(USERS),
                DSL.using(db.dialect()).selectQuery(USERS));
        for (ResultQuery<? extends Record> query : direct) {
            assertThat(DirectRows.ofQuery(query)).as("read directly: " + query).isNotNull();
            same(db, query);
        }
        List<ResultQuery<? extends Record>> jooqs = List.of(
                selectFrom(renamed).orderBy(renamed.field(USERS.ID)),
                selectFrom(USERS.as("u")),
                // an inline derived table (Table.where): jOOQ reports fields of its own
                selectFrom(USERS.where(USERS.ID.le(2L))).orderBy(USERS.ID),
                selectFrom(selectFrom(USERS).asTable("d")),
                select(asterisk()).from(USERS).orderBy(USERS.ID),
                select(USERS.asterisk()).from(USERS).orderBy(USERS.ID),
                select(USERS.fields()).from(USERS).orderBy(USERS.ID),
                selectFrom(USERS.join(POSTS).on(POSTS.USER_ID.eq(USERS.ID))),
                select(USERS.ID, USERS.NAME, USERS.EMAIL, USERS.CREATED_AT).from(USERS).coerce(USERS.as("x")));
        for (ResultQuery<? extends Record> query : jooqs) {
            assertThat(DirectRows.ofQuery(query)).as("not read directly: " + query).isNull();
            same(db, query);
        }
    }

    private static <R extends Record> void same(Database db, ResultQuery<R> query) {
        Throwable[] jooqFailure = new Throwable[1];
        Result<R> expected = null;
        try {
            expected = db.dsl().fetch(query);
        } catch (RuntimeException e) {
            jooqFailure[0] = e;
        }
        if (jooqFailure[0] != null) {
            Throwable actual = catchThrowable(() -> db.blockingSession().all(query));
            assertThat(actual).isNotNull();
            assertThat(actual.getClass()).isEqualTo(jooqFailure[0].getClass());
            return;
        }
        UnpreparedDirectRowsTest.sameResults(db.blockingSession().all(query), expected);
        UnpreparedDirectRowsTest.sameResults(Stages.join(db.session().all(query)), expected);
    }

    /**
     * timestamptz through all() once pgjdbc receives it in binary (the same statement's 5th run on a connection):
     * the same values and offsets as jOOQ's reading on the same connection, in zones with odd offsets, with LMT
     * offsets in seconds (1900 in Amsterdam) and infinity.
     */
    @Test
    void CHECKED__all_reads_binary_timestamptz_as_jooq_in_session_time_zones(TestDatabase test, Database db) {
        assumeTrue(postgres(test), "binary timestamptz is pgjdbc's");
        db.dsl().execute("insert into users (id, name, created_at) values (1, 'a', '2026-03-29 01:30:15.123456+00'),"
                + " (2, 'b', '1900-01-01 00:00:00+00'), (3, 'c', 'infinity'), (4, 'd', '-infinity'),"
                + " (5, 'e', '0001-01-01 00:00:00+00'), (6, 'f', '9999-12-31 23:59:59.999999+00')");
        long read = PostgresTimestamps.READ.sum();
        for (String zone : List.of("Asia/Kathmandu", "America/St_Johns", "Europe/Amsterdam", "Pacific/Chatham", "UTC")) {
            db.blockingSession().transaction(tx -> {
                tx.execute("set local time zone '" + zone + "'");
                ResultQuery<UsersRecord> query = selectFrom(USERS).orderBy(USERS.ID);
                for (int run = 0; run < 7; run++) {
                    Result<UsersRecord> expected = null;
                    Throwable failure = null;
                    try {
                        expected = db.dsl().fetch(query);
                    } catch (RuntimeException e) {
                        failure = e;
                    }
                    if (failure != null) {
                        Throwable actual = catchThrowable(() -> tx.all(query));
                        assertThat(actual).as(zone + " run " + run + ": jOOQ failed with " + failure).isNotNull();
                        assertThat(actual.getClass()).isEqualTo(failure.getClass());
                        assertThat(after(actual.getMessage())).isEqualTo(after(failure.getMessage()));
                        continue;
                    }
                    Result<UsersRecord> actual = tx.all(query);
                    UnpreparedDirectRowsTest.sameResults(actual, expected);
                    for (int i = 0; i < actual.size(); i++) {
                        assertThat(actual.get(i).getCreatedAt()).as(zone + " run " + run + " row " + i)
                                .isEqualTo(expected.get(i).getCreatedAt());
                    }
                }
                return null;
            });
        }
        assertThat(PostgresTimestamps.READ.sum()).as("binary timestamptz read without text").isGreaterThan(read);
    }

    private static UsersRecord user(Long id, String name, String email, OffsetDateTime createdAt) {
        UsersRecord r = new UsersRecord();
        if (id != null) {
            r.setId(id);
        }
        r.setName(name);
        r.setEmail(email);
        if (createdAt != null) {
            r.setCreatedAt(createdAt);
        }
        return r;
    }

    /** Every record holds what jOOQ's own reading of its row holds, with nothing changed. */
    private static void refreshedAsJooqReads(DSLContext jooq, List<? extends UpdatableRecord<?>> records) {
        for (UpdatableRecord<?> record : records) {
            Table<?> table = record.getTable();
            Condition key = DSL.noCondition();
            for (TableField<?, ?> field : table.getPrimaryKey().getFields()) {
                key = key.and(eq(field, record.get(field)));
            }
            Record stored = jooq.fetchOne(selectFrom(table).where(key));
            assertThat(stored).as("row of " + record).isNotNull();
            assertThat(record.intoArray()).as(table.getName() + " record refreshed as jOOQ reads its row")
                    .containsExactly(stored.intoArray());
            assertThat(record.changed()).as("changed after saveAll").isFalse();
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> Condition eq(Field<T> field, Object value) {
        return field.eq((T) value);
    }

    private static List<UpdatableRecord<?>> mixedRecords(int base) {
        List<UpdatableRecord<?>> records = new ArrayList<>();
        records.add(user(null, "generated " + base, null, null));
        records.add(user(100_000L + base, "explicit " + base, "e" + base + "@example.com", T0.withOffsetSameInstant(ZoneOffset.ofHoursMinutes(5, 45))));
        TicketsRecord ticket = new TicketsRecord();
        ticket.setTitle("ticket " + base);
        records.add(ticket);
        DocumentsRecord document = new DocumentsRecord();
        document.setId((long) base);
        document.setBody("body " + base);
        records.add(document);
        PricesRecord price = new PricesRecord();
        price.setAmount(new BigDecimal(base + ".5"));
        price.setLabel("p");
        records.add(price);
        CodesRecord code = new CodesRecord();
        code.setCode("C" + (base % 100));
        code.setLabel("c");
        records.add(code);
        DevicesRecord device = new DevicesRecord();
        device.setId(new UUID(0, base));
        device.setName("d");
        records.add(device);
        BlobsRecord blob = new BlobsRecord();
        blob.setDigest(new byte[] {0, (byte) base, (byte) 255});
        blob.setName("b");
        records.add(blob);
        ReadingsRecord reading = new ReadingsRecord();
        reading.setTakenAt(T0.plusSeconds(base).withOffsetSameInstant(ZoneOffset.ofHours(-3)));
        reading.setNote("r");
        records.add(reading);
        return records;
    }

    /**
     * saveAll's refresh (inserts, then updates of the same rows) equals jOOQ's reading of each row: generated keys,
     * defaults, generated columns, numeric scale, char(n) padding (and trimmed), uuid, bytea, timestamptz offsets
     * in a session zone, once pgjdbc reads the upsert's rows in binary; the JSON path, the COPY path, and a large
     * call that crosses copyRows on its own.
     */
    @Test
    void CHECKED__saveAll_refreshes_every_record_as_jooq_reads_its_row_on_json_and_copy_paths(TestDatabase test) {
        assumeTrue(postgres(test), "the RETURNING read by DirectRows.fetch is PostgreSQL's upsert");
        boolean postgres = true;
        for (Settings settings : List.of(new Settings(), new Settings().withFetchTrimmedCharValues(true))) {
            test.reset();
            try (Database db = test.builder().settings(settings).build()) {
                long read = PostgresTimestamps.READ.sum();
                db.blockingSession().transaction(tx -> {
                    if (postgres) {
                        tx.execute("set local time zone 'Asia/Kathmandu'");
                    }
                    for (int i = 1; i <= 7; i++) {
                        List<UpdatableRecord<?>> records = mixedRecords(i);
                        tx.saveAll(records);
                        refreshedAsJooqReads(db.dsl(), records);
                        ((UsersRecord) records.get(1)).setName("updated " + i);
                        ((TicketsRecord) records.get(2)).setTitle("a longer title " + i);
                        tx.saveAll(records);
                        refreshedAsJooqReads(db.dsl(), records);
                    }
                    return null;
                });
                if (postgres) {
                    assertThat(PostgresTimestamps.READ.sum()).as("upsert rows read with binary timestamptz").isGreaterThan(read);
                    CopyKnobs knobs = CopyKnobs.everyStatementByCopy(2);
                    try {
                        List<UpdatableRecord<?>> records = mixedRecords(50);
                        db.blockingSession().saveAll(records);
                        refreshedAsJooqReads(db.dsl(), records);
                    } finally {
                        knobs.restore();
                    }
                }
                List<UsersRecord> many = new ArrayList<>();
                for (int i = 0; i < 6_000; i++) {
                    many.add(user(1_000L + i, "n" + i, null, i % 2 == 0 ? null : T0.plusSeconds(i)));
                }
                db.blockingSession().saveAll(many);
                Result<UsersRecord> stored = db.dsl().fetch(selectFrom(USERS).where(USERS.ID.between(1_000L, 99_999L)).orderBy(USERS.ID));
                assertThat(stored).hasSize(many.size());
                for (int i = 0; i < many.size(); i++) {
                    assertThat(many.get(i).intoArray()).as("large saveAll record " + i).containsExactly(stored.get(i).intoArray());
                }
                assertThat(db.activeConnections()).isZero();
            }
        }
    }

    /**
     * A RETURNING row the reader cannot read (numeric NaN, set by a trigger, into a BigDecimal) fails saveAll as
     * jOOQ's cursor fails it (class, message after the SQL, cause), writes nothing, and gives the connection back.
     */
    @Test
    void CHECKED__a_returning_value_saveAll_cannot_read_fails_as_jooq_and_writes_nothing(TestDatabase test, Database db) {
        assumeTrue(postgres(test), "the RETURNING read by DirectRows.fetch is PostgreSQL's upsert");
        db.dsl().execute("create function review9_nan() returns trigger language plpgsql as"
                + " $$ begin new.amount := 'NaN'; return new; end $$");
        db.dsl().execute("create trigger review9_nan before insert on prices for each row execute function review9_nan()");
        try {
            Supplier<Throwable> save = () -> {
                PricesRecord price = new PricesRecord();
                price.setAmount(new BigDecimal("1.00"));
                price.setLabel("nan");
                PricesRecord other = new PricesRecord();
                other.setAmount(new BigDecimal("2.00"));
                other.setLabel("other");
                return catchThrowable(() -> db.blockingSession().saveAll(List.of(other, price)));
            };
            Throwable jooq = throughJooq(save);
            Throwable direct = save.get();
            assertThat(jooq).as("jOOQ's cursor fails").isNotNull();
            assertThat(direct).isNotNull();
            assertThat(direct.getClass()).isEqualTo(jooq.getClass());
            assertThat(after(direct.getMessage())).isEqualTo(after(jooq.getMessage()));
            assertThat(direct.getMessage()).startsWith(jooq.getMessage().substring(0, jooq.getMessage().indexOf("]; ")));
            assertThat(Objects.requireNonNull(direct.getCause()).getClass()).isEqualTo(jooq.getCause().getClass());
            assertThat(db.dsl().fetchCount(PRICES)).as("a failed saveAll writes nothing").isZero();
            assertThat(db.activeConnections()).isZero();
        } finally {
            db.dsl().execute("drop trigger review9_nan on prices");
            db.dsl().execute("drop function review9_nan()");
        }
    }

    private static String after(String message) {
        int at = message.indexOf("]; ");
        return at < 0 ? message : message.substring(at);
    }

    /** The shared reader per record class, used by many calls at once on several tables: every result as jOOQ's. */
    @Test
    void CHECKED__many_concurrent_all_calls_share_the_readers_and_read_as_jooq(Database db) {
        UsersAndPosts.users(db, T0);
        db.dsl().insertInto(TICKETS, TICKETS.TITLE).values("t1").values("t22").execute();
        db.dsl().insertInto(PRICES, PRICES.AMOUNT, PRICES.LABEL).values(new BigDecimal("1.10"), "a")
                .values(new BigDecimal("-3.00"), "b").execute();
        List<ResultQuery<? extends Record>> queries = List.of(selectFrom(USERS).orderBy(USERS.ID),
                selectFrom(TICKETS).orderBy(TICKETS.ID), selectFrom(PRICES).orderBy(PRICES.AMOUNT));
        List<Result<? extends Record>> expected = new ArrayList<>();
        for (ResultQuery<? extends Record> query : queries) {
            expected.add(db.dsl().fetch(query));
        }
        for (int round = 0; round < 20; round++) {
            List<CompletionStage<? extends Result<? extends Record>>> stages = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                ResultQuery<? extends Record> fresh = i % 3 == 0 ? selectFrom(USERS).orderBy(USERS.ID)
                        : i % 3 == 1 ? selectFrom(TICKETS).orderBy(TICKETS.ID) : selectFrom(PRICES).orderBy(PRICES.AMOUNT);
                stages.add(db.session().all(fresh));
            }
            for (int i = 0; i < stages.size(); i++) {
                sameAs(Stages.join(stages.get(i)), expected.get(i % 3));
            }
        }
        assertThat(db.activeConnections()).isZero();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void sameAs(Result actual, Result expected) {
        UnpreparedDirectRowsTest.sameResults(actual, expected);
    }

    /** A statement timeout on a directly read all() fails as on jOOQ's reading; nothing is left borrowed. */
    @Test
    void CHECKED__a_statement_timeout_on_all_fails_as_through_jooqs_cursor(TestDatabase test, Database db) {
        UsersAndPosts.users(db, T0);
        Condition slow = postgres(test) ? DSL.condition("pg_sleep(2) is not null") : DSL.condition("sleep(2) = 0");
        Session session = db.blockingSession().withStatementTimeout(Duration.ofMillis(300));
        assertThat(DirectRows.ofQuery(selectFrom(USERS).where(slow))).isNotNull();
        Throwable jooq = throughJooq(() -> catchThrowable(() -> session.all(selectFrom(USERS).where(slow))));
        Throwable direct = catchThrowable(() -> session.all(selectFrom(USERS).where(slow)));
        assertThat(jooq).isNotNull();
        assertThat(direct).isNotNull();
        assertThat(direct.getClass()).isEqualTo(jooq.getClass());
        if (jooq instanceof DataAccessException e) {
            assertThat(((DataAccessException) direct).sqlState()).isEqualTo(e.sqlState());
        }
        assertThat(db.activeConnections()).isZero();
        assertThat(session.all(selectFrom(USERS).orderBy(USERS.ID))).hasSize(3);
    }

    /** A value all() cannot read, many times over: no connection stays borrowed, the pool still serves. */
    @Test
    void CHECKED__failed_reads_leave_no_cursor_or_connection_behind(TestDatabase test) {
        try (Database db = test.builder().poolSize(2).settings(new Settings().withRenderSchema(false)).build()) {
            boolean postgres = postgres(test);
            for (int i = 0; i < 30; i++) {
                Throwable failure = db.blockingSession().transaction(tx -> {
                    if (postgres) {
                        tx.execute("create temporary table users (id text, name text, email text, created_at timestamptz)"
                                + " on commit drop");
                    } else {
                        tx.execute("create temporary table users (id text, name text, email text, created_at timestamp(6))");
                    }
                    tx.execute("insert into users values ('x', 'x', null, null)");
                    Throwable t = catchThrowable(() -> tx.all(selectFrom(USERS)));
                    if (!postgres) {
                        tx.execute("drop temporary table users");
                    }
                    return t;
                });
                assertThat(failure).isInstanceOf(DataAccessException.class).hasMessageStartingWith("SQL [");
            }
            assertThat(db.activeConnections()).isZero();
            assertThat(db.blockingSession().all(selectFrom(USERS))).isEmpty();
            if (postgres) {
                assertThat(db.dsl().fetchOne("select count(*) from pg_stat_activity where datname = current_database()"
                        + " and state like 'idle in transaction%'").get(0, Long.class)).isZero();
            }
        }
    }
}
