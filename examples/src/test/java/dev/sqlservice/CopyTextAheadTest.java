package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.testing.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * saveAll on PostgreSQL writes the COPY text of a call's next statement on a thread of its own while the server runs
 * the current one ({@link UpsertStatements.Run#workAhead}), for columns without a converter: what it stores, how
 * it fails, and that no thread reads the records after the call has returned. Statements of 10 rows, every one by
 * COPY.
 */
@ExampleDatabase
@org.junit.jupiter.api.parallel.Isolated("one test measures the live heap, and its beforeTextAhead hook would act on other"
        + " classes' calls: no other test class may run meanwhile")
class CopyTextAheadTest {

    /** The value the note converter fails on when it writes it (user code run by the COPY text). */
    static final String FAILS = "fails in the converter";

    static final Set<String> threads = ConcurrentHashMap.newKeySet();
    static final AtomicInteger slowDone = new AtomicInteger();

    private CopyKnobs knobs;

    @BeforeEach
    void setUp(TestDatabase test, DSLContext dsl) {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "COPY is PostgreSQL's");
        knobs = CopyKnobs.everyStatementByCopy(10);
        dsl.execute("drop table if exists " + Notes.NAME);
        dsl.execute("create table " + Notes.NAME + " (id bigint primary key, note text check (note <> 'refused'),"
                + " plain text check (plain <> 'refused'), at timestamptz, tags text[])");
        threads.clear();
        slowDone.set(0);
    }

    @AfterEach
    void tearDown(TestDatabase test, DSLContext dsl) {
        if (test.dialect().family() == SQLDialect.POSTGRES) {
            knobs.restore();
            dsl.execute("drop table if exists " + Notes.NAME);
        }
    }

    private static List<NoteRecord> notes(int n, String prefix) {
        List<NoteRecord> rows = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            NoteRecord r = new NoteRecord();
            r.set(Notes.NOTES.ID, (long) i);
            r.set(Notes.NOTES.NOTE, prefix + i);
            rows.add(r);
        }
        return rows;
    }

    /** Records that set only columns without a converter: their text may be written ahead. */
    private static List<NoteRecord> plain(int n, String prefix) {
        List<NoteRecord> rows = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            NoteRecord r = new NoteRecord();
            r.set(Notes.NOTES.ID, (long) i);
            r.set(Notes.NOTES.PLAIN, prefix + i + (i % 7 == 0 ? "\ttab\\back\nline" : ""));
            r.set(Notes.NOTES.AT, java.time.OffsetDateTime.parse("2026-11-27T10:00:00.123456789+05:30").plusSeconds(i));
            r.set(Notes.NOTES.TAGS, new String[] {"t" + i, i % 3 == 0 ? null : "u\"" + i});
            rows.add(r);
        }
        return rows;
    }

    private static List<String> stored(DSLContext dsl) {
        return dsl.fetch("select id || ':' || coalesce(note, '-') || ':' || coalesce(plain, '-') || ':'"
                + " || coalesce(at::text, '-') || ':' || coalesce(tags::text, '-') from " + Notes.NAME + " order by id")
                .getValues(0, String.class);
    }

    @Test
    void the_text_written_ahead_stores_and_refreshes_what_the_text_written_in_turn_does(Database db, DSLContext dsl) {
        PostgresBackend.Statements.copyTextAhead = false;
        long started = UpsertStatements.Run.AHEAD.sum();
        List<NoteRecord> inTurnRecords = plain(95, "in turn ");
        db.blockingSession().saveAll(inTurnRecords);
        List<String> inTurn = stored(dsl);
        assertThat(UpsertStatements.Run.AHEAD.sum()).isEqualTo(started);

        dsl.execute("truncate " + Notes.NAME);
        PostgresBackend.Statements.copyTextAhead = true;
        long copies = PostgresBackend.Statements.COPIES.sum();
        List<NoteRecord> records = plain(95, "in turn ");
        List<NoteRecord> saved = db.blockingSession().saveAll(records);

        assertThat(PostgresBackend.Statements.COPIES.sum() - copies).isEqualTo(10);
        assertThat(UpsertStatements.Run.AHEAD.sum() - started).as("texts written ahead").isEqualTo(9);
        assertThat(stored(dsl)).hasSize(95).isEqualTo(inTurn);
        assertThat(saved).hasSize(95);
        for (int i = 0; i < saved.size(); i++) {
            NoteRecord r = records.get(i);
            assertThat(saved.get(i)).isSameAs(r);
            assertThat(r.changed()).as("record %s changed", r.get(Notes.NOTES.ID)).isFalse();
            assertThat(java.util.Arrays.deepToString(r.intoArray()))
                    .isEqualTo(java.util.Arrays.deepToString(inTurnRecords.get(i).intoArray()));
        }
    }

    @Test
    void columns_with_a_converter_are_written_in_turn_on_the_calling_thread(Database db, DSLContext dsl) {
        PostgresBackend.Statements.copyTextAhead = true;
        long started = UpsertStatements.Run.AHEAD.sum();
        List<NoteRecord> records = notes(95, "note ");
        for (NoteRecord r : records) {
            r.set(Notes.NOTES.PLAIN, "p" + r.get(Notes.NOTES.ID));
        }
        db.blockingSession().saveAll(records);
        assertThat(UpsertStatements.Run.AHEAD.sum()).as("texts written ahead").isEqualTo(started);
        assertThat(threads).containsExactly(Thread.currentThread().getName());
        assertThat(stored(dsl)).hasSize(95).startsWith("1:note 1:p1:-:-");
    }

    @Test
    void a_converter_failing_on_a_later_statements_row_fails_the_call_with_its_own_exception_and_writes_nothing(
            Database db, DSLContext dsl) {
        List<Throwable> failures = new ArrayList<>();
        for (boolean textAhead : new boolean[] {false, true}) {
            PostgresBackend.Statements.copyTextAhead = textAhead;
            List<NoteRecord> records = notes(60, "note ");
            records.get(44).set(Notes.NOTES.NOTE, FAILS); // the fifth statement's
            Throwable failure = catchThrowable(() -> db.blockingSession().saveAll(records));
            assertThat(failure).as("ahead=%s", textAhead).isNotNull();
            failures.add(failure);
            assertThat(dsl.fetchCount(DSL.table(DSL.name(Notes.NAME)))).as("rows written, ahead=%s", textAhead).isZero();
            for (NoteRecord r : records) {
                assertThat(r.changed()).as("a record of a failed call keeps its changes").isTrue();
            }
        }
        assertThat(failures.get(1)).hasSameClassAs(failures.get(0)).hasMessage(failures.get(0).getMessage());
        assertThat(failures.get(1)).isInstanceOf(IllegalStateException.class).hasMessage(FAILS);
    }

    @Test
    void a_call_failing_while_the_next_text_is_written_returns_only_once_that_text_is_done(Database db, DSLContext dsl) {
        PostgresBackend.Statements.copyTextAhead = true;
        PostgresBackend.Statements.beforeTextAhead = () -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            slowDone.incrementAndGet();
        };
        long started = UpsertStatements.Run.AHEAD.sum();
        List<NoteRecord> records = plain(30, "plain ");
        records.get(4).set(Notes.NOTES.PLAIN, "refused"); // the first statement fails on the server (check)
        Throwable failure = catchThrowable(() -> db.blockingSession().saveAll(records));
        assertThat(failure).isInstanceOf(org.jooq.exception.DataAccessException.class);
        assertThat(((org.jooq.exception.DataAccessException) failure).sqlState()).isEqualTo("23514");
        assertThat(UpsertStatements.Run.AHEAD.sum() - started).as("texts written ahead").isEqualTo(1);
        // no thread reads the caller's records once the call has returned
        assertThat(slowDone).as("text written ahead, finished before the call returned").hasValue(1);
        assertThat(dsl.fetchCount(DSL.table(DSL.name(Notes.NAME)))).isZero();
    }

    @Test
    void while_the_next_text_is_written_the_text_sent_before_is_no_longer_held(Database db) {
        PostgresBackend.Statements.copyTextAhead = true;
        PostgresBackend.Statements.copyRowsPerStatement = 3;
        int size = 4_000_000; // characters per value: one statement's text is about 12 MB
        List<NoteRecord> records = plain(9, "");
        for (NoteRecord r : records) {
            r.set(Notes.NOTES.PLAIN, String.valueOf((char) ('a' + r.get(Notes.NOTES.ID))).repeat(size));
        }
        java.util.concurrent.atomic.AtomicLong held = new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);
        long[] base = {0};
        PostgresBackend.Statements.beforeTextAhead = () -> {
            if (held.get() == Long.MIN_VALUE) {
                held.set(live() - base[0]);
            }
        };
        base[0] = live();
        db.blockingSession().saveAll(records);
        assertThat(held.get()).as("measured").isNotEqualTo(Long.MIN_VALUE);
        // the first statement's text (3 values of `size` Latin-1 characters: 12 MB) went to the server before the
        // second's was started: what is held is far less than half of it (the class runs isolated: no other test's
        // objects are live meanwhile)
        assertThat(held.get()).as("live heap beyond the records when the second text is started: %.1f MiB",
                held.get() / 1048576.0).isLessThan(3L * size / 2);
    }

    private static long live() {
        System.gc();
        Runtime runtime = Runtime.getRuntime();
        return runtime.totalMemory() - runtime.freeMemory();
    }

    @Test
    void which_columns_allow_the_text_ahead() {
        org.jooq.Field<?>[] fields = Notes.NOTES.fields();
        java.util.BitSet plainColumns = new java.util.BitSet();
        plainColumns.set(0);
        plainColumns.set(2, 5);
        assertThat(PostgresBackend.Statements.writesAhead(fields, plainColumns)).isTrue();
        java.util.BitSet withConverter = (java.util.BitSet) plainColumns.clone();
        withConverter.set(1);
        assertThat(PostgresBackend.Statements.writesAhead(fields, withConverter)).isFalse();
        org.jooq.Field<?>[] other = {DSL.field(DSL.name("x"), SQLDataType.OTHER)};
        java.util.BitSet first = new java.util.BitSet();
        first.set(0);
        assertThat(PostgresBackend.Statements.writesAhead(other, first)).as("a type CopyText writes by toString()").isFalse();
    }

    /** Writes the note as it is, after noting the thread; fails on {@link #FAILS}. */
    static final class NoteConverter implements Converter<String, String> {
        @Override
        public String from(String stored) {
            return stored;
        }

        @Override
        public String to(String note) {
            threads.add(Thread.currentThread().getName());
            if (FAILS.equals(note)) {
                throw new IllegalStateException(FAILS);
            }
            return note;
        }

        @Override
        public Class<String> fromType() {
            return String.class;
        }

        @Override
        public Class<String> toType() {
            return String.class;
        }
    }

    static final class Notes extends TableImpl<NoteRecord> {
        static final String NAME = "copy_ahead_notes";
        static final Notes NOTES = new Notes();

        final TableField<NoteRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<NoteRecord, String> NOTE = createField(DSL.name("note"),
                SQLDataType.CLOB.asConvertedDataType(new NoteConverter()), this, "");
        final TableField<NoteRecord, String> PLAIN = createField(DSL.name("plain"), SQLDataType.CLOB, this, "");
        final TableField<NoteRecord, java.time.OffsetDateTime> AT = createField(DSL.name("at"),
                SQLDataType.TIMESTAMPWITHTIMEZONE, this, "");
        final TableField<NoteRecord, String[]> TAGS = createField(DSL.name("tags"), SQLDataType.CLOB.array(), this, "");

        private Notes() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<NoteRecord> getRecordType() {
            return NoteRecord.class;
        }

        @Override
        public UniqueKey<NoteRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(NAME + "_pkey"), ID);
        }
    }

    public static final class NoteRecord extends UpdatableRecordImpl<NoteRecord> {
        public NoteRecord() {
            super(Notes.NOTES);
        }
    }
}
