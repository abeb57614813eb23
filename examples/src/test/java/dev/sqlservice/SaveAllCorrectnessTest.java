package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.CODES;
import static dev.sqlservice.example.schema.Tables.DEVICES;
import static dev.sqlservice.example.schema.Tables.DOCUMENTS;
import static dev.sqlservice.example.schema.Tables.PRICES;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.TICKETS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.tables.records.CodesRecord;
import dev.sqlservice.example.schema.tables.records.DevicesRecord;
import dev.sqlservice.example.schema.tables.records.DocumentsRecord;
import dev.sqlservice.example.schema.tables.records.PricesRecord;
import dev.sqlservice.example.schema.tables.records.ReadingsRecord;
import dev.sqlservice.example.schema.tables.records.TicketsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.conf.MappedSchema;
import org.jooq.conf.RenderMapping;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code save} / {@code saveAll} beyond the basics of {@link SaveAllTest}: jOOQ's render mapping, keys matched and
 * ordered as the database compares them, identity and generated columns, statements bounded by bytes.
 */
@ExampleDatabase
class SaveAllCorrectnessTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final OffsetDateTime OLD = OffsetDateTime.of(2000, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

    private boolean postgres;

    @BeforeEach
    void backend(TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
    }

    private String sql(String postgresSql, String mariaDbSql) {
        return postgres ? postgresSql : mariaDbSql;
    }

    // =========================================================================================================
    // jOOQ's render mapping (Settings) applies to every statement saveAll builds
    // =========================================================================================================

    @Test
    void saveAll__writes_into_the_schema_the_render_mapping_names_and_reads_see_the_rows(TestDatabase test,
            DSLContext dsl) {
        // Generated classes carry no schema (outputSchemaToDefault): jOOQ maps them with the input schema "", which
        // is what users configure; RenderMapping.defaultSchema only leaves a schema name out.
        String tenant = postgres ? "tenant_b" : "test_tenant_" + Long.toString(System.nanoTime(), 36);
        String users = tenant + ".users";
        dsl.execute(sql("create schema " + tenant, "create database " + tenant));
        try {
            dsl.execute(postgres ? "create table " + users + " (like " + dsl.fetchValue("select current_schema()") + ".users including all)"
                    : "create table " + users + " like users");
            dsl.execute(sql("alter table " + users + " alter column id restart with 100", "alter table " + users + " auto_increment = 100"));
            dsl.execute("insert into " + users + " (id, name, created_at) values (2, 'stored', {0}), (3, 'stored 3', {0})",
                    DSL.val(OLD, USERS.CREATED_AT));
            dsl.execute("insert into users (id, name) values (3, 'default schema')");
            Settings settings = new Settings().withRenderMapping(new RenderMapping()
                    .withSchemata(new MappedSchema().withInput("").withOutput(tenant)));
            try (Database db = test.builder().settings(settings).build()) {
                UsersRecord fresh = user(1, "Ann");
                UsersRecord renamed = user(2, "renamed");
                UsersRecord keyOnly = new UsersRecord();
                keyOnly.setId(3L);
                UsersRecord generated = new UsersRecord();
                generated.setName("generated");

                await(db.session().saveAll(List.of(fresh, renamed, generated, keyOnly)));

                assertThat(dsl.fetch("select id, name from users").map(r -> r.get(0) + ":" + r.get(1)))
                        .as("rows in the default schema").containsExactly("3:default schema");
                assertThat(dsl.fetch("select id, name from " + users + " order by id").map(r -> r.get(0) + ":" + r.get(1)))
                        .as("rows in the mapped schema").containsExactly("1:Ann", "2:renamed", "3:stored 3", "100:generated");
                assertThat(generated.getId()).isEqualTo(100L);
                assertThat(renamed.getCreatedAt().toInstant()).isEqualTo(OLD.toInstant());
                assertThat(keyOnly.getName()).isEqualTo("stored 3");
                assertThat(fresh.getCreatedAt()).isNotNull();
                // reads through the same Database see the mapped schema too
                assertThat(await(db.session().all(selectFrom(USERS).orderBy(USERS.ID))).map(UsersRecord::getName))
                        .containsExactly("Ann", "renamed", "stored 3", "generated");
            }
        } finally {
            dsl.execute(sql("drop schema " + tenant + " cascade", "drop database " + tenant));
        }
    }

    // =========================================================================================================
    // Keys match as the database compares them
    // =========================================================================================================

    @Test
    void save__updates_a_row_keyed_by_timestamptz_given_in_another_offset(AsyncSession session, DSLContext dsl) {
        OffsetDateTime utc = OffsetDateTime.of(2024, 5, 6, 7, 8, 9, 123_456_000, ZoneOffset.UTC);
        dsl.insertInto(READINGS).set(READINGS.TAKEN_AT, utc).set(READINGS.NOTE, "stored").execute();
        ReadingsRecord reading = reading(utc.withOffsetSameInstant(ZoneOffset.ofHoursMinutes(5, 30)), "updated");

        await(session.save(reading));

        assertThat(dsl.fetchCount(READINGS)).isEqualTo(1);
        assertThat(dsl.fetchValue(READINGS.NOTE)).isEqualTo("updated");
        assertThat(reading.getTakenAt().toInstant()).isEqualTo(utc.toInstant());
        assertThat(reading.touched()).isFalse();
    }

    @Test
    void save__matches_a_timestamptz_key_with_nanoseconds_to_the_row_stored_in_microseconds(AsyncSession session,
            DSLContext dsl) {
        OffsetDateTime sent = OffsetDateTime.of(2024, 5, 6, 7, 8, 9, 123_456_789, ZoneOffset.ofHours(-3));
        ReadingsRecord reading = reading(sent, "first");

        await(session.save(reading));
        reading.setNote("second");
        await(session.save(reading));

        assertThat(dsl.fetchCount(READINGS)).isEqualTo(1);
        assertThat(dsl.fetchValue(READINGS.NOTE)).isEqualTo("second");
        // PostgreSQL rounds to microseconds, MariaDB's TIMESTAMP(6) truncates
        assertThat(reading.getTakenAt().toInstant()).isEqualTo(dsl.fetchValue(READINGS.TAKEN_AT).toInstant())
                .isEqualTo(sent.withNano(postgres ? 123_457_000 : 123_456_000).toInstant());
    }

    @Test
    void saveAll__rejects_timestamptz_keys_the_database_stores_as_the_same_instant_before_any_sql(
            AsyncSession session, DSLContext dsl) {
        OffsetDateTime utc = OffsetDateTime.of(2024, 5, 6, 7, 8, 9, 0, ZoneOffset.UTC);
        List<ReadingsRecord> offsets = List.of(reading(utc, "a"), reading(utc.plusHours(1), "b"),
                reading(utc.withOffsetSameInstant(ZoneOffset.ofHours(2)), "c"));
        // 100 ns and 400 ns past the same microsecond: one value once rounded (PostgreSQL) or truncated (MariaDB)
        List<ReadingsRecord> nanos = List.of(reading(utc.withNano(123_456_100), "d"),
                reading(utc.withNano(123_456_400), "e"));

        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(offsets))
                .withMessageContaining("records[0]").withMessageContaining("records[2]");
        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(nanos))
                .withMessageContaining("records[0]").withMessageContaining("records[1]");
        assertThat(dsl.fetchCount(READINGS)).isZero();
    }

    @Test
    void save__matches_a_numeric_key_to_the_row_the_database_stores_at_the_column_scale(AsyncSession session,
            DSLContext dsl) {
        dsl.insertInto(PRICES).set(PRICES.AMOUNT, new BigDecimal("1.50")).set(PRICES.LABEL, "stored").execute();
        PricesRecord otherScale = price("1.5", "updated");
        PricesRecord rounded = price("2.005", "rounded"); // numeric(10, 2): stored as 2.01

        await(session.saveAll(List.of(otherScale, rounded)));

        assertThat(dsl.select(PRICES.AMOUNT, PRICES.LABEL).from(PRICES).orderBy(PRICES.AMOUNT)
                .fetch(r -> r.value1().toPlainString() + ":" + r.value2())).containsExactly("1.50:updated", "2.01:rounded");
        assertThat(rounded.getAmount()).isEqualByComparingTo("2.01");
        assertThat(otherScale.touched()).isFalse();
    }

    @Test
    void saveAll__rejects_numeric_keys_equal_at_the_column_scale_before_any_sql(AsyncSession session, DSLContext dsl) {
        List<PricesRecord> prices = List.of(price("2.005", "a"), price("3", "b"), price("2.01", "c"));

        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(prices))
                .withMessageContaining("records[0]").withMessageContaining("records[2]");
        assertThat(dsl.fetchCount(PRICES)).isZero();
    }

    @Test
    void save__updates_a_row_keyed_by_char_n_whatever_trailing_spaces_the_key_has(AsyncSession session,
            DSLContext dsl) {
        dsl.insertInto(CODES).set(CODES.CODE, "ab").set(CODES.LABEL, "stored").execute();
        CodesRecord unpadded = code("ab", "first");
        CodesRecord padded = code("ab  ", "second");

        await(session.save(unpadded));
        assertThat(dsl.fetchValue(CODES.LABEL)).isEqualTo("first");
        await(session.save(padded));

        assertThat(dsl.fetchCount(CODES)).isEqualTo(1);
        assertThat(dsl.fetchValue(CODES.LABEL)).isEqualTo("second");
        assertThat(padded.getCode()).isEqualTo(dsl.fetchValue(CODES.CODE));
        assertThat(padded.touched()).isFalse();
    }

    @Test
    void saveAll__rejects_char_n_keys_that_differ_only_in_trailing_spaces_before_any_sql(AsyncSession session,
            DSLContext dsl) {
        List<CodesRecord> codes = List.of(code("ab  ", "a"), code("cd", "b"), code("ab", "c"));

        assertThatIllegalArgumentException().isThrownBy(() -> session.saveAll(codes))
                .withMessageContaining("records[0]").withMessageContaining("records[2]");
        assertThat(dsl.fetchCount(CODES)).isZero();
    }

    @Test
    void save__updates_the_row_whose_key_the_column_collation_finds_equal_and_refreshes_the_record(
            AsyncSession session, DSLContext dsl) {
        withTextKeys(dsl, CASE_INSENSITIVE, () -> {
            dsl.execute("insert into " + TextKeys.NAME + " (name, note) values ('Ann', 'stored')");
            TextKeysRecord upper = textKey("ANN", "updated");

            await(session.save(upper));

            assertThat(dsl.fetch("select name, note from " + TextKeys.NAME).map(r -> r.get(0) + ":" + r.get(1)))
                    .containsExactly("Ann:updated");
            assertThat(upper.get(TextKeys.TEXT_KEYS.KEY)).as("the key as stored").isEqualTo("Ann");
            assertThat(upper.touched()).isFalse();
        });
    }

    @Test
    void saveAll__fails_with_21000_and_writes_nothing_for_keys_the_column_collation_finds_equal(
            AsyncSession session, DSLContext dsl) {
        withTextKeys(dsl, CASE_INSENSITIVE, () -> {
            List<TextKeysRecord> notes = List.of(textKey("Bob", "one"), textKey("Ann", "two"), textKey("BOB", "three"));
            TextKeysRecord keyOnly = new TextKeysRecord();
            keyOnly.set(TextKeys.TEXT_KEYS.KEY, "Eve");
            TextKeysRecord otherKeyOnly = new TextKeysRecord();
            otherKeyOnly.set(TextKeys.TEXT_KEYS.KEY, "EVE");
            List<TextKeysRecord> keysOnly = List.of(keyOnly, otherKeyOnly);
            // different sets of columns: two statements, each on its own harmless
            TextKeysRecord withNote = textKey("Zoe", "note");
            TextKeysRecord withoutNote = new TextKeysRecord();
            withoutNote.set(TextKeys.TEXT_KEYS.KEY, "zoe");
            List<TextKeysRecord> twoStatements = List.of(withNote, withoutNote);

            for (List<TextKeysRecord> records : List.of(notes, keysOnly, twoStatements)) {
                List<List<Object>> before = records.stream().map(SaveAllCorrectnessTest::stateOf).toList();
                DataAccessException e = awaitFailure(session.saveAll(records));

                assertThat(e.sqlState()).as("SQLState of %s", e.getMessage()).isEqualTo("21000");
                assertThat(records.stream().map(SaveAllCorrectnessTest::stateOf).toList()).isEqualTo(before);
                assertThat(count(dsl, TextKeys.NAME)).isZero();
            }
        });
    }

    // =========================================================================================================
    // Identity columns and generated (computed) columns
    // =========================================================================================================

    @Test
    void save__updates_a_row_keyed_by_generated_always_identity(AsyncSession session, DSLContext dsl) {
        TicketsRecord ticket = new TicketsRecord();
        ticket.setTitle("first");
        await(session.save(ticket));
        assertThat(ticket.getId()).isNotNull();

        ticket.setTitle("second!");
        await(session.save(ticket));

        assertThat(dsl.fetchCount(TICKETS)).isEqualTo(1);
        assertThat(dsl.fetchValue(TICKETS.TITLE)).isEqualTo("second!");
        assertThat(ticket.getTitleLength()).isEqualTo(7);
    }

    @Test
    void saveAll__never_writes_generated_columns_and_reads_their_values_back(AsyncSession session, DSLContext dsl) {
        // The generated constructor marks every field as set, the generated column and the identity too.
        TicketsRecord generatedKey = new TicketsRecord(null, "abc", 99);
        TicketsRecord explicitKey = new TicketsRecord(1000L, "hello", -1);
        TicketsRecord existing = new TicketsRecord();
        existing.setTitle("x");
        await(session.save(existing));
        existing.setTitle("four");
        existing.setTitleLength(12);

        await(session.saveAll(List.of(generatedKey, explicitKey, existing)));

        assertThat(dsl.select(TICKETS.TITLE, TICKETS.TITLE_LENGTH).from(TICKETS).orderBy(TICKETS.ID)
                .fetch(r -> r.value1() + ":" + r.value2())).containsExactlyInAnyOrder("four:4", "abc:3", "hello:5");
        assertThat(generatedKey.getTitleLength()).isEqualTo(3);
        assertThat(explicitKey.getTitleLength()).isEqualTo(5);
        assertThat(existing.getTitleLength()).isEqualTo(4);
    }

    // =========================================================================================================
    // Overlapping saveAlls lock rows in one order: the statements' and the chunks'
    // =========================================================================================================

    @Test
    void saveAll__overlapping_calls_over_uuid_keys_larger_than_a_chunk_do_not_deadlock(AsyncSession session,
            DSLContext dsl) throws Exception {
        // Java's UUID.compareTo is signed, the database orders uuid as unsigned bytes.
        UUID low = new UUID(0, 1);
        UUID high = new UUID(Long.MIN_VALUE, 0);
        List<UUID> fillers = new ArrayList<>();
        for (int i = 1; i < 10_000; i++) {
            fillers.add(new UUID(0x9000_0000_0000_0000L + i, i));
        }
        Function<UUID, DevicesRecord> device = id -> {
            DevicesRecord d = new DevicesRecord();
            d.setId(id);
            d.setName("n-" + id);
            return d;
        };
        dsl.insertInto(DEVICES, DEVICES.ID, DEVICES.NAME).values(low, "low").values(high, "high").execute();
        assertNoDeadlock(session, dsl, "devices", "id", DSL.val(high, DEVICES.ID), device, low, high, fillers);
    }

    @Test
    void saveAll__overlapping_calls_over_text_keys_larger_than_a_chunk_do_not_deadlock(AsyncSession session,
            DSLContext dsl) throws Exception {
        // Under an English collation 'a' < 'B' < 'C…'; Java's String order puts 'B' and 'C…' before 'a'.
        withTextKeys(dsl, ENGLISH, () -> {
            List<String> fillers = new ArrayList<>();
            for (int i = 1; i < 10_000; i++) {
                fillers.add(String.format("C%05d", i));
            }
            dsl.execute("insert into " + TextKeys.NAME + " (name, note) values ('a', 'low'), ('B', 'high')");
            try {
                assertNoDeadlock(session, dsl, TextKeys.NAME, "name", DSL.val("B"), key -> textKey(key, "n-" + key),
                        "a", "B", fillers);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    /**
     * Two overlapping calls: {@code big} (high, fillers, low: more than a chunk) and {@code small} (low, high). A
     * third transaction holds {@code high}; {@code big} waits for it first, then {@code small}. Once it lets go,
     * the calls deadlock (40P01) if {@code small} locked low before high while {@code big} locks high before low.
     */
    private <K, R extends org.jooq.UpdatableRecord<R>> void assertNoDeadlock(AsyncSession session, DSLContext dsl,
            String table, String keyColumn, org.jooq.Param<?> highKey, Function<K, R> record, K low, K high,
            List<K> fillers) throws Exception {
        List<R> big = new ArrayList<>();
        big.add(record.apply(high));
        fillers.forEach(k -> big.add(record.apply(k)));
        big.add(record.apply(low));
        List<R> small = List.of(record.apply(low), record.apply(high));
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletionStage<Integer> holder = session.transaction(tx -> {
            tx.dsl().execute("select 1 from " + table + " where " + keyColumn + " = {0} for update", highKey);
            locked.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 1;
        });
        try {
            assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<?> first = session.saveAll(big).toCompletableFuture();
            awaitLockWaits(dsl, 1, first);
            CompletableFuture<?> second = session.saveAll(small).toCompletableFuture();
            awaitLockWaits(dsl, 2, first, second);
            release.countDown();
            assertThat(holder).succeedsWithin(TIMEOUT);
            Throwable failed = catchThrowable(() -> CompletableFuture.allOf(first, second).get(60, TimeUnit.SECONDS));
            assertThat(failed).as("the overlapping calls (%s)", failed == null ? "" : failed.getCause()).isNull();
        } finally {
            release.countDown();
        }
    }

    /** Waits until {@code waiting} transactions of this database wait for a row lock, the calls all still running. */
    private void awaitLockWaits(DSLContext dsl, int waiting, CompletableFuture<?>... calls) throws InterruptedException {
        String sql = sql("select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
                // MariaDB 10.11's innodb_trx did not list these waits: count inserts still running after 300 ms
                "select count(*) from information_schema.processlist where db = database() and command = 'Query'"
                        + " and info like '%insert into%' and time_ms > 300");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (((Number) dsl.fetchValue(sql)).intValue() < waiting) {
            for (CompletableFuture<?> call : calls) {
                assertThat(call).as("a call that should wait for a row lock").isNotDone();
            }
            assertThat(System.nanoTime()).as("%d calls waiting for a row lock", waiting).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    // =========================================================================================================
    // Statements bounded by bytes as well as rows
    // =========================================================================================================

    @Test
    void saveAll__splits_wide_rows_into_statements_within_the_byte_budget_and_refreshes_every_row(TestDatabase test,
            DSLContext dsl) throws Exception {
        // 5 rows of 4 MiB each (some 2-byte UTF-8 characters too): over the 16 MiB of JSON PostgreSQL gets per
        // statement, and, on MariaDB, over the 16 MiB max_allowed_packet of one statement.
        int rows = 5;
        int width = 4 << 20;
        Random random = new Random(7);
        List<DocumentsRecord> documents = new ArrayList<>();
        Map<Long, String> digests = new java.util.HashMap<>();
        for (long id = 1; id <= rows; id++) {
            char[] body = new char[width];
            for (int i = 0; i < width; i++) {
                body[i] = i % 1000 == 0 ? 'é' : (char) ('a' + random.nextInt(26));
            }
            DocumentsRecord d = new DocumentsRecord();
            d.setId(id);
            d.setBody(new String(body));
            digests.put(id, md5(d.getBody()));
            documents.add(d);
        }
        // half the rows exist: updates keep their created_at, inserts get a new one; both come back into the records
        for (long id = 2; id <= rows; id += 2) {
            dsl.insertInto(DOCUMENTS).set(DOCUMENTS.ID, id).set(DOCUMENTS.BODY, "old").set(DOCUMENTS.CREATED_AT, OLD).execute();
        }
        Collections.shuffle(documents, random);
        dsl.execute(sql("create table documents_log (seq serial primary key, id bigint not null)",
                "create table documents_log (seq int auto_increment primary key, id bigint not null)"));
        try (Database db = test.builder().poolSize(1).build()) {
            if (postgres) {
                dsl.execute("create table documents_statements (n int)");
                dsl.execute("create function documents_log() returns trigger language plpgsql as $$ begin"
                        + " if tg_level = 'ROW' then insert into documents_log (id) values (new.id);"
                        + " else insert into documents_statements values (1); end if; return null; end; $$");
                dsl.execute("create trigger documents_rows after insert or update on documents for each row execute function documents_log()");
                dsl.execute("create trigger documents_statements after insert on documents for each statement execute function documents_log()");
            } else {
                dsl.execute("create trigger documents_inserted after insert on documents for each row insert into documents_log (id) values (new.id)");
                dsl.execute("create trigger documents_updated after update on documents for each row insert into documents_log (id) values (new.id)");
            }
            long insertsBefore = insertStatements(db);

            await(db.session().saveAll(documents));

            // MariaDB's counter counts the trigger's inserts too: one per row
            long statements = insertStatements(db) - insertsBefore - (postgres ? 0 : count(dsl, "documents_log"));
            assertThat(statements).as("insert statements").isGreaterThanOrEqualTo(2);
            assertThat(dsl.fetch("select id from documents_log order by seq").map(r -> ((Number) r.get(0)).longValue()))
                    .as("rows written, in order").containsExactly(1L, 2L, 3L, 4L, 5L);
            for (DocumentsRecord d : documents) {
                assertThat(md5(dsl.fetchValue(DOCUMENTS.BODY, DOCUMENTS.ID.eq(d.getId())))).as("body of %d", d.getId())
                        .isEqualTo(digests.get(d.getId()));
                assertThat(d.getCreatedAt()).as("created_at of %d", d.getId())
                        .isEqualTo(dsl.fetchValue(DOCUMENTS.CREATED_AT, DOCUMENTS.ID.eq(d.getId())));
                assertThat(d.getCreatedAt().toInstant().equals(OLD.toInstant())).isEqualTo(d.getId() % 2 == 0);
                assertThat(d.touched()).isFalse();
            }
        } finally {
            dsl.execute(sql("drop trigger if exists documents_rows on documents", "drop trigger if exists documents_inserted"));
            dsl.execute(sql("drop trigger if exists documents_statements on documents", "drop trigger if exists documents_updated"));
            dsl.execute("drop table documents_log");
            if (postgres) {
                dsl.execute("drop table if exists documents_statements");
                dsl.execute("drop function if exists documents_log()");
            }
        }
    }

    /** Insert statements run so far: PostgreSQL's statement trigger's log, MariaDB's session counter of the only connection. */
    private long insertStatements(Database db) {
        if (postgres) {
            return ((Number) db.blockingSession().one("select count(*) from documents_statements").get(0)).longValue();
        }
        return Long.parseLong(String.valueOf(db.blockingSession().one("show session status like 'Com_insert'").get(1)));
    }

    // =========================================================================================================
    // Helpers
    // =========================================================================================================

    private static final String CASE_INSENSITIVE = "case-insensitive";
    private static final String ENGLISH = "English";

    /**
     * Runs {@code work} with the table {@link TextKeys} created, its key under a case-insensitive or an English
     * collation, and drops it afterwards.
     */
    private void withTextKeys(DSLContext dsl, String collation, Runnable work) {
        String column;
        if (postgres) {
            assumeTrue(dsl.fetchExists(DSL.selectOne().from("pg_collation").where("collname = 'en-x-icu'")),
                    "this PostgreSQL has no ICU collations");
            if (collation.equals(CASE_INSENSITIVE)) {
                dsl.execute("create collation if not exists saveall_case_insensitive"
                        + " (provider = icu, locale = 'und-u-ks-level2', deterministic = false)");
                column = "text collate saveall_case_insensitive";
            } else {
                column = "text collate \"en-x-icu\"";
            }
        } else {
            // MariaDB's default collation: case- and accent-insensitive, trailing spaces ignored
            column = "varchar(100) character set utf8mb4 collate utf8mb4_general_ci";
        }
        dsl.execute("create table " + TextKeys.NAME + " (name " + column + " primary key, note text)");
        try {
            work.run();
        } finally {
            dsl.execute("drop table " + TextKeys.NAME);
        }
    }

    private static UsersRecord user(long id, String name) {
        UsersRecord u = new UsersRecord();
        u.setId(id);
        u.setName(name);
        return u;
    }

    private static ReadingsRecord reading(OffsetDateTime takenAt, String note) {
        ReadingsRecord r = new ReadingsRecord();
        r.setTakenAt(takenAt);
        r.setNote(note);
        return r;
    }

    private static PricesRecord price(String amount, String label) {
        PricesRecord p = new PricesRecord();
        p.setAmount(new BigDecimal(amount));
        p.setLabel(label);
        return p;
    }

    private static CodesRecord code(String code, String label) {
        CodesRecord c = new CodesRecord();
        c.setCode(code);
        c.setLabel(label);
        return c;
    }

    private static TextKeysRecord textKey(String key, String note) {
        TextKeysRecord r = new TextKeysRecord();
        r.set(TextKeys.TEXT_KEYS.KEY, key);
        r.set(TextKeys.TEXT_KEYS.NOTE, note);
        return r;
    }

    private static long count(DSLContext dsl, String table) {
        return ((Number) dsl.fetchValue("select count(*) from " + table)).longValue();
    }

    private static String md5(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Every value, original value and changed flag of a record. */
    private static List<Object> stateOf(Record r) {
        List<Object> state = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) {
            state.add(Arrays.asList(r.field(i).getName(), r.get(i), r.original(i), r.touched(i)));
        }
        state.add(r.touched());
        return state;
    }

    private static <T> T await(CompletionStage<T> stage) {
        assertThat(stage).succeedsWithin(TIMEOUT);
        return stage.toCompletableFuture().join();
    }

    private static DataAccessException awaitFailure(CompletionStage<?> stage) {
        assertThat(stage).failsWithin(TIMEOUT).withThrowableOfType(ExecutionException.class)
                .withCauseInstanceOf(DataAccessException.class);
        return (DataAccessException) catchThrowable(() -> stage.toCompletableFuture().get()).getCause();
    }

    // A table keyed by text under a collation chosen by the test (created and dropped by withTextKeys).

    static final class TextKeys extends TableImpl<TextKeysRecord> {
        static final String NAME = "saveall_text_keys";
        static final TextKeys TEXT_KEYS = new TextKeys();

        final TableField<TextKeysRecord, String> KEY = createField(DSL.name("name"), SQLDataType.VARCHAR(100).nullable(false), this, "");
        final TableField<TextKeysRecord, String> NOTE = createField(DSL.name("note"), SQLDataType.CLOB, this, "");

        private TextKeys() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<TextKeysRecord> getRecordType() {
            return TextKeysRecord.class;
        }

        @Override
        public UniqueKey<TextKeysRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(NAME + "_pkey"), KEY);
        }
    }

    public static final class TextKeysRecord extends UpdatableRecordImpl<TextKeysRecord> {
        public TextKeysRecord() {
            super(TextKeys.TEXT_KEYS);
        }
    }
}
