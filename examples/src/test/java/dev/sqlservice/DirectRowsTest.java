package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.BLOBS;
import static dev.sqlservice.example.schema.Tables.CODES;
import static dev.sqlservice.example.schema.Tables.DEVICES;
import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.PRICES;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.cast;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jooq.Converter;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.Select;
import org.jooq.exception.TooManyRowsException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: a direct run reads its rows without jOOQ's cursor ({@link DirectRows}): each value through its field's
 * binding, into a record created as jOOQ creates fetched ones. Every value, record type and record state must be
 * what jOOQ's own execution of the same query returns, on both backends; fields it cannot read that way (a
 * converter, a binding of jOOQ's that needs its execution, two fields of one name) keep jOOQ's cursor.
 */
@ExampleDatabase
class DirectRowsTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 29, 1, 30, 15, 123_456_000, ZoneOffset.UTC);

    @BeforeEach
    void rows(Database db) {
        UsersAndPosts.users(db, T0);
        UsersAndPosts.posts(db, 3);
        db.dsl().insertInto(BLOBS, BLOBS.DIGEST, BLOBS.NAME).values(new byte[] {0, 1, (byte) 255}, "b").execute();
        db.dsl().insertInto(READINGS, READINGS.TAKEN_AT, READINGS.NOTE).values(T0, "gap hour in Europe").execute();
        db.dsl().insertInto(PRICES, PRICES.AMOUNT, PRICES.LABEL).values(new BigDecimal("12.30"), "p").execute();
        db.dsl().insertInto(CODES, CODES.CODE, CODES.LABEL).values("AB", "c").execute();
        db.dsl().insertInto(DEVICES, DEVICES.ID, DEVICES.NAME).values(UUID.fromString("00000000-0000-0000-0000-0000000000aa"), "d")
                .execute();
    }

    /** Every built-in type the direct read takes, nulls among them, in one select list of expressions. */
    @Test
    void every_type_it_reads_is_what_jooq_reads(Database db) {
        Param<Long> id = param("id", Long.class);
        List<Field<?>> columns = new ArrayList<>();
        columns.add(USERS.ID);
        columns.add(USERS.NAME);
        columns.add(USERS.EMAIL); // null for Bob
        columns.add(USERS.CREATED_AT);
        columns.add(cast(USERS.ID, SQLDataType.SMALLINT).as("small"));
        columns.add(cast(USERS.ID, SQLDataType.TINYINT).as("tiny"));
        columns.add(cast(USERS.ID, SQLDataType.INTEGER).as("int"));
        columns.add(cast(USERS.ID, SQLDataType.DECIMAL_INTEGER(20)).as("bigint_exact"));
        columns.add(cast(USERS.ID, SQLDataType.NUMERIC(12, 3)).as("numeric"));
        columns.add(cast(USERS.ID, SQLDataType.DOUBLE).div(3.0).as("double"));
        columns.add(cast(USERS.ID, SQLDataType.REAL).as("real"));
        columns.add(DSL.field(USERS.ID.gt(1L)).as("bool"));
        columns.add(DSL.when(USERS.ID.eq(2L), DSL.inline((Boolean) null, SQLDataType.BOOLEAN))
                .otherwise(DSL.inline(true)).as("bool_null"));
        columns.add(cast(USERS.CREATED_AT, SQLDataType.LOCALDATE).as("day"));
        columns.add(cast(USERS.CREATED_AT, SQLDataType.LOCALDATETIME(6)).as("local"));
        columns.add(DSL.when(USERS.ID.eq(2L), DSL.inline((java.time.LocalDateTime) null, SQLDataType.LOCALDATETIME(6)))
                .otherwise(cast(USERS.CREATED_AT, SQLDataType.LOCALDATETIME(6))).as("local_null"));
        columns.add(cast(USERS.NAME, SQLDataType.CHAR(6)).as("padded"));
        columns.add(cast(USERS.NAME, SQLDataType.VARCHAR(20)).as("varchar"));
        Select<Record> query = select(columns).from(USERS).where(USERS.ID.eq(id));
        PreparedQuery<Record> prepared = db.prepare(query);
        assertThat(prepared.bind(id, 1L).run(db).readsRowsDirectly()).as("read without jOOQ's cursor").isTrue();

        for (long key = 1; key <= 3; key++) {
            Record expected = db.blockingSession().one(select(columns).from(USERS).where(USERS.ID.eq(key)));
            sameRecords(db.blockingSession().one(prepared.bind(id, key)), expected);
            sameRecords(Stages.join(db.session().first(prepared.bind(id, key))).orElseThrow(), expected);
        }
        assertThat(db.blockingSession().one(prepared.bind(id, 2L)).get("email")).as("a null").isNull();
        assertThat(db.blockingSession().one(prepared.bind(id, 2L)).get("bool_null")).as("a null boolean").isNull();
    }

    @Test
    void records_of_every_table_it_reads_are_jooqs_records_in_their_fetched_state(Database db) {
        same(db, selectFrom(USERS).where(USERS.ID.eq(param("k", Long.class))), 2L, selectFrom(USERS).where(USERS.ID.eq(2L)));
        same(db, selectFrom(BLOBS).where(BLOBS.NAME.eq(param("k", String.class))), "b", selectFrom(BLOBS).where(BLOBS.NAME.eq("b")));
        same(db, selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(param("k", OffsetDateTime.class))), T0,
                selectFrom(READINGS).where(READINGS.TAKEN_AT.eq(T0)));
        same(db, selectFrom(PRICES).where(PRICES.LABEL.eq(param("k", String.class))), "p", selectFrom(PRICES).where(PRICES.LABEL.eq("p")));
        same(db, selectFrom(CODES).where(CODES.LABEL.eq(param("k", String.class))), "c", selectFrom(CODES).where(CODES.LABEL.eq("c")));
        same(db, selectFrom(DEVICES).where(DEVICES.NAME.eq(param("k", String.class))), "d", selectFrom(DEVICES).where(DEVICES.NAME.eq("d")));
    }

    private static <R extends Record, K> void same(Database db, ResultQuery<R> template, K value, ResultQuery<R> unprepared) {
        PreparedQuery<R> prepared = db.prepare(template);
        assertThat(prepared.bind("k", value).run(db).readsRowsDirectly()).as(template.toString()).isTrue();
        Session session = db.blockingSession();
        R expected = session.one(unprepared);
        sameRecords(session.one(prepared.bind("k", value)), expected);
        sameRecords(session.first(prepared.bind("k", value)).orElseThrow(), expected);
        sameRecords(session.oneOrNone(prepared.bind("k", value)).orElseThrow(), expected);
        sameRecords(session.all(prepared.bind("k", value)).getFirst(), expected);
        sameRecords(Stages.join(db.session().one(prepared.bind("k", value))), expected);
    }

    /** The same record: type, values by position, state, configuration, jOOQ's fetched mark. */
    static void sameRecords(Record actual, Record expected) {
        assertThat(actual).isInstanceOf(expected.getClass());
        assertThat(actual.getClass()).isEqualTo(expected.getClass());
        assertThat(actual.fields()).containsExactly(expected.fields());
        assertThat(actual.intoArray()).as("values").containsExactly(expected.intoArray());
        assertThat(actual.original().intoArray()).as("original values").containsExactly(expected.original().intoArray());
        assertThat(actual.changed()).as("changed").isEqualTo(expected.changed()).isFalse();
        assertThat(actual.touched()).as("touched").isEqualTo(expected.touched());
        for (int i = 0; i < actual.size(); i++) {
            assertThat(actual.changed(i)).as("changed " + i).isEqualTo(expected.changed(i));
            assertThat(actual.touched(i)).as("touched " + i).isEqualTo(expected.touched(i));
        }
        assertThat(fetched(actual)).as("jOOQ's fetched mark").isEqualTo(fetched(expected)).isTrue();
        assertThat(actual.configuration()).as("attached to").isSameAs(expected.configuration());
    }

    /** jOOQ's internal mark of a record read from the database ({@code AbstractRecord.fetched}). */
    static boolean fetched(Record record) {
        try {
            java.lang.reflect.Field fetched = Class.forName("org.jooq.impl.AbstractRecord").getDeclaredField("fetched");
            fetched.setAccessible(true);
            return fetched.getBoolean(record);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void all_reads_every_row_in_order_and_an_empty_result_as_jooq_does(Database db) {
        Param<Long> min = param("min", Long.class);
        PreparedQuery<UsersRecord> from = db.prepare(selectFrom(USERS).where(USERS.ID.ge(min)).orderBy(USERS.ID));
        Session session = db.blockingSession();

        Result<UsersRecord> all = session.all(from.bind(min, 1L));
        Result<UsersRecord> expected = session.all(selectFrom(USERS).where(USERS.ID.ge(1L)).orderBy(USERS.ID));
        assertThat(all).hasSize(3).isEqualTo(expected);
        assertThat(all.fields()).containsExactly(expected.fields());
        assertThat(all.configuration()).isSameAs(expected.configuration());
        for (int i = 0; i < all.size(); i++) {
            sameRecords(all.get(i), expected.get(i));
        }
        Result<UsersRecord> none = session.all(from.bind(min, 99L));
        Result<UsersRecord> noneExpected = session.all(selectFrom(USERS).where(USERS.ID.ge(99L)));
        assertThat(none).isEmpty();
        assertThat(none.fields()).containsExactly(noneExpected.fields());
        assertThat(none.configuration()).isSameAs(noneExpected.configuration());
        assertThat(session.first(from.bind(min, 99L))).isEmpty();
        assertThat(session.oneOrNone(from.bind(min, 99L))).isEmpty();
    }

    @Test
    void a_second_row_for_one_fails_as_jooq_fails(Database db) {
        Param<Long> min = param("min", Long.class);
        PreparedQuery<UsersRecord> from = db.prepare(selectFrom(USERS).where(USERS.ID.ge(min)));
        assertThat(from.bind(min, 1L).run(db).readsRowsDirectly()).isTrue();

        assertThatThrownBy(() -> db.blockingSession().oneOrNone(from.bind(min, 1L)))
                .isInstanceOf(TooManyRowsException.class);
        assertThatThrownBy(() -> db.blockingSession().oneOrNone(selectFrom(USERS).where(USERS.ID.ge(1L))))
                .isInstanceOf(TooManyRowsException.class);
    }

    @Test
    void a_record_read_directly_stores_as_an_update_and_keys_as_fetched(Database db) {
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        UsersRecord bob = db.blockingSession().one(byId.bind(id, 2L));
        sameRecords(bob.key(), db.blockingSession().one(selectFrom(USERS).where(USERS.ID.eq(2L))).key());
        sameRecords(bob.into(USERS), db.blockingSession().one(selectFrom(USERS).where(USERS.ID.eq(2L))).into(USERS));

        bob.setEmail("bob@example.com");
        assertThat(bob.store()).isEqualTo(1);
        assertThat(db.dsl().fetchCount(USERS)).as("an update, no insert").isEqualTo(3);
        assertThat(db.dsl().fetchValue(USERS.EMAIL, USERS.ID.eq(2L))).isEqualTo("bob@example.com");
    }

    @Test
    void fields_it_cannot_read_keep_jooqs_cursor_and_read_the_same(Database db) {
        Param<Long> id = param("id", Long.class);
        // jsonb and an enum: bindings that need jOOQ's execution
        PreparedQuery<?> posts = db.prepare(selectFrom(POSTS).where(POSTS.ID.eq(id)));
        assertThat(posts.bind(id, 1L).run(db).direct()).isTrue();
        assertThat(posts.bind(id, 1L).run(db).readsRowsDirectly()).as("jsonb, enum").isFalse();
        sameRecords(db.blockingSession().one(posts.bind(id, 1L)), db.blockingSession().one(selectFrom(POSTS).where(POSTS.ID.eq(1L))));

        // a converter: application code
        Field<String> converted = USERS.NAME.convert(Converter.ofNullable(String.class, String.class,
                s -> s.toUpperCase(java.util.Locale.ROOT), s -> s));
        PreparedQuery<?> upper = db.prepare(select(USERS.ID, converted.as("upper")).from(USERS).where(USERS.ID.eq(id)));
        assertThat(upper.bind(id, 1L).run(db).readsRowsDirectly()).as("a converter").isFalse();
        Record up = db.blockingSession().one(upper.bind(id, 1L));
        assertThat(up.get(1)).isEqualTo("ANN");
        sameRecords(up, db.blockingSession().one(select(USERS.ID, converted.as("upper")).from(USERS).where(USERS.ID.eq(1L))));

        // two columns of one name: a record sets values by field, so by position only jOOQ's cursor can
        PreparedQuery<?> twice = db.prepare(select(USERS.ID, POSTS.ID).from(USERS).join(POSTS).on(POSTS.USER_ID.eq(USERS.ID))
                .where(POSTS.ID.eq(id)));
        assertThat(twice.bind(id, 3L).run(db).readsRowsDirectly()).as("two fields named id").isFalse();
        Record pair = db.blockingSession().one(twice.bind(id, 3L));
        assertThat(pair.intoArray()).containsExactly(2L, 3L);
    }
}
