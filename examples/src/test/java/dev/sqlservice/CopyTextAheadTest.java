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
 * the current one ({@link UpsertStatements.Run#workAhead}): what it stores, how it fails, and that no thread reads
 * the records after the call has returned. Statements of 10 rows, every one by COPY.
 */
@ExampleDatabase
class CopyTextAheadTest {

    /** Values the note converter treats specially when it writes them (user code run by the COPY text). */
    static final String FAILS = "fails in the converter";
    static final String SLOW = "slow in the converter";

    static final Set<String> threads = ConcurrentHashMap.newKeySet();
    static final AtomicInteger slowDone = new AtomicInteger();

    private int copyRows;
    private int copyRowsPerStatement;
    private boolean ahead;

    @BeforeEach
    void setUp(TestDatabase test, DSLContext dsl) {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "COPY is PostgreSQL's");
        copyRows = PostgresBackend.Statements.copyRows;
        copyRowsPerStatement = PostgresBackend.Statements.copyRowsPerStatement;
        ahead = PostgresBackend.Statements.copyTextAhead;
        PostgresBackend.Statements.copyRows = 1;
        PostgresBackend.Statements.copyRowsPerStatement = 10;
        dsl.execute("drop table if exists " + Notes.NAME);
        dsl.execute("create table " + Notes.NAME + " (id bigint primary key, note text check (note <> 'refused'))");
        threads.clear();
        slowDone.set(0);
    }

    @AfterEach
    void tearDown(TestDatabase test, DSLContext dsl) {
        if (test.dialect().family() == SQLDialect.POSTGRES) {
            PostgresBackend.Statements.copyRows = copyRows;
            PostgresBackend.Statements.copyRowsPerStatement = copyRowsPerStatement;
            PostgresBackend.Statements.copyTextAhead = ahead;
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

    @Test
    void the_text_written_ahead_stores_what_the_text_written_in_turn_stores(Database db, DSLContext dsl) {
        PostgresBackend.Statements.copyTextAhead = false;
        db.blockingSession().saveAll(notes(95, "in turn "));
        List<String> inTurn = dsl.fetch("select id || ':' || note from " + Notes.NAME + " order by id").getValues(0, String.class);
        assertThat(threads).containsExactly(Thread.currentThread().getName());

        dsl.execute("truncate " + Notes.NAME);
        threads.clear();
        PostgresBackend.Statements.copyTextAhead = true;
        long copies = PostgresBackend.Statements.COPIES.sum();
        List<NoteRecord> records = notes(95, "in turn ");
        List<NoteRecord> saved = db.blockingSession().saveAll(records);

        assertThat(PostgresBackend.Statements.COPIES.sum() - copies).isEqualTo(10);
        assertThat(dsl.fetch("select id || ':' || note from " + Notes.NAME + " order by id").getValues(0, String.class))
                .hasSize(95).isEqualTo(inTurn);
        assertThat(saved).hasSize(95);
        for (int i = 0; i < saved.size(); i++) {
            assertThat(saved.get(i)).isSameAs(records.get(i));
        }
        for (NoteRecord r : records) {
            assertThat(r.changed()).as("record %s changed", r.get(Notes.NOTES.ID)).isFalse();
            assertThat(r.get(Notes.NOTES.NOTE)).isEqualTo("in turn " + r.get(Notes.NOTES.ID));
        }
        // the first statement's text on the calling thread, the nine others' ahead of them
        assertThat(threads).contains(Thread.currentThread().getName(), "sqlservice-upsert-ahead");
    }

    @Test
    void a_converter_failing_on_a_later_statements_row_fails_the_call_as_in_turn_and_writes_nothing(Database db,
            DSLContext dsl) {
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
        List<NoteRecord> records = notes(30, "note ");
        records.get(4).set(Notes.NOTES.NOTE, "refused"); // the first statement fails on the server (check)
        records.get(19).set(Notes.NOTES.NOTE, SLOW); // the second statement's text takes 300 ms
        Throwable failure = catchThrowable(() -> db.blockingSession().saveAll(records));
        assertThat(failure).isInstanceOf(org.jooq.exception.DataAccessException.class);
        assertThat(((org.jooq.exception.DataAccessException) failure).sqlState()).isEqualTo("23514");
        // no thread reads the caller's records once the call has returned
        assertThat(slowDone).as("text written ahead, finished before the call returned").hasValue(1);
        assertThat(dsl.fetchCount(DSL.table(DSL.name(Notes.NAME)))).isZero();
    }

    /** Writes the note as it is, after noting the thread; fails on {@link #FAILS}, takes 300 ms on {@link #SLOW}. */
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
            if (SLOW.equals(note)) {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                slowDone.incrementAndGet();
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
